"""Convert a released HRFormer pose checkpoint (mmpose 0.x) to this package's layout, or back.

    python tools/convert_official_checkpoint.py hrt_small_coco_256x192.pth converted.pth
    python tools/convert_official_checkpoint.py ours.pth official_layout.pth --reverse

Only the head is renamed (`keypoint_head.*` <-> `head.*`); backbone keys are identical.
`mmpose.apis.init_model` and tools/test.py also accept the original file directly.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import hrformer_pose  # noqa: E402,F401  (safe loading of mmengine checkpoints)
from hrformer_pose.checkpoint import (convert_official_state_dict,  # noqa: E402
                                      to_official_state_dict)
from hrformer_pose.hrformer_checkpoint import (load_checkpoint, save_atomic,  # noqa: E402
                                               state_dict_of)


def convert(src: str, dst: str, reverse: bool = False) -> int:
    """Write the converted checkpoint (state dict + meta only); returns the number of tensors."""
    checkpoint = load_checkpoint(src)
    state = state_dict_of(checkpoint, src)
    state = to_official_state_dict(state) if reverse else convert_official_state_dict(state)
    save_atomic({"meta": checkpoint.get("meta", {}), "state_dict": state}, dst)
    return len(state)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="input checkpoint")
    parser.add_argument("dst", help="output checkpoint")
    parser.add_argument("--reverse", action="store_true",
                        help="this package's layout -> the original's")
    args = parser.parse_args(argv)
    count = convert(args.src, args.dst, args.reverse)
    print(f"wrote {args.dst} ({count} tensors)")


if __name__ == "__main__":
    main()
