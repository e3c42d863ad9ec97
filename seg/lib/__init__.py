"""HRFormer + OCR semantic segmentation (openseg.pytorch-style layout)."""
