# Machine-specific settings read by scripts/*/hrt/run_*.sh; environment variables win.
# Uncomment and edit:
# PYTHON=/path/to/python
# DATA_ROOT=/path/to/datasets          # holds cityscapes/ pascal_context/ coco_stuff_10k/ ade20k/
# PRETRAINED_ROOT=/path/to/hrt_pretrained_models   # hrt_small.pth, hrt_base.pth (ImageNet)
# NGPUS=8
