"""cls: parameters and FLOPs of the ImageNet classifiers (default HRFormer-T/S/B at 224x224),
in the original's, fvcore's and a complete convention (hrformer_common/flops.py), so that the
original's table is reproduced exactly.

    python tools/flops.py [--models hrt_small ...] [--input-size H [W]] [--json FILE]
    python tools/flops.py --cfg configs/hrt/hrt_small.yaml      # the config's MODEL.NAME
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the cls/ folder
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.flops import Flops, original_graph  # noqa: E402
from models import MODEL_NAMES, hrformer  # noqa: E402
from tools.benchmark import MODELS  # noqa: E402


class ClsFlops(Flops):
    """Flops with `--cfg CONFIG`: count the config's MODEL.NAME (what run_flops.sh passes)."""

    def parser(self) -> argparse.ArgumentParser:
        p = super().parser()
        p.add_argument("--cfg", help="a cls yaml config; counts its MODEL.NAME")
        return p

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        args = super().parse_args(argv)
        if args.cfg:
            if args.models:
                self.parser().error("give --cfg or --models, not both")
            from config import load_config
            name = load_config(args.cfg).MODEL.NAME
            if name not in self.models:
                self.parser().error(f"{args.cfg}: MODEL.NAME {name!r} has no FLOPs count; "
                                    f"expected one of {sorted(self.models)}")
            args.models = [name]
        return args


FLOPS = ClsFlops("cls", MODELS, defaults=MODEL_NAMES, corrections=original_graph(hrformer))
main = FLOPS.run

if __name__ == "__main__":
    main()
