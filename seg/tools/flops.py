"""seg: parameters and FLOPs of the HRFormer + OCR segmentors (default HRFormer-S/B + OCR v2
at 512x1024) and of the HRNet-W48 + OCR reference (hrformer_common/flops.py).

    python tools/flops.py [--models hrt_small_ocr_v3 ...] [--input-size H [W]] [--json FILE]

The original published no FLOPs of its segmentors, so no corrections to its graph apply: the
"original" and "fvcore" columns price this repository's graph in those conventions.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the seg/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.flops import Flops  # noqa: E402
from tools.benchmark import MODELS  # noqa: E402

FLOPS = Flops("seg", MODELS, defaults=("hrt_small_ocr_v2", "hrt_base_ocr_v2"))
main = FLOPS.run

if __name__ == "__main__":
    main()
