"""pose: parameters and FLOPs of the COCO top-down models (default HRFormer-S/B at 256x192),
built by mmpose from this repository's configs, in the original's, fvcore's and a complete
convention (hrformer_common/flops.py).

    python tools/flops.py [--models hrt_small_coco_384x288 ...] [--input-size H [W]] [--json FILE]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the pose/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.flops import Flops, original_graph  # noqa: E402
from hrformer_pose import hrformer  # noqa: E402
from tools.benchmark import MODELS  # noqa: E402

FLOPS = Flops("pose", MODELS, defaults=("hrt_small_coco_256x192", "hrt_base_coco_256x192"),
              corrections=original_graph(hrformer))
main = FLOPS.run

if __name__ == "__main__":
    main()
