"""Convert a released HRFormer pose checkpoint (mmpose 0.x) to this package's layout, or back.

    python tools/convert_official_checkpoint.py hrt_small_coco_256x192.pth converted.pth
    python tools/convert_official_checkpoint.py ours.pth official_layout.pth --reverse
    python tools/convert_official_checkpoint.py ours.pth mmpose_layout.pth --mmpose

Between the original and this package only the head is renamed (`keypoint_head.*` <->
`head.*`). mmpose 1.x's own HRFormer (its model zoo) fuses `qkv` and names `proj` and `ffn`:
such input is read as well, and `--mmpose` writes that layout. `mmpose.apis.init_model` and
tools/test.py also accept all these files directly.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import hrformer_pose  # noqa: E402,F401  (safe loading of mmengine checkpoints)
from hrformer_pose.checkpoint_keys import (OFFICIAL_HEAD,  # noqa: E402
                                           convert_official_state_dict, to_official_state_dict)
from hrformer_common.checkpoint import (load_checkpoint, save_atomic,  # noqa: E402
                                               state_dict_of)
from hrformer_pose.mmpose_layout import from_mmpose_layout, to_mmpose_layout  # noqa: E402


def convert(src: str, dst: str, reverse: bool = False, mmpose: bool = False) -> int:
    """Write the converted checkpoint (state dict + meta only); returns the number of tensors.

    reverse: the original's layout; mmpose: mmpose 1.x HRFormer's layout."""
    if reverse and mmpose:
        raise ValueError("--reverse (the original's layout) and --mmpose exclude each other")
    checkpoint = load_checkpoint(src)
    state = from_mmpose_layout(state_dict_of(checkpoint, src))  # mmpose 1.x names too
    if reverse:
        state = to_official_state_dict(state)
    elif any(k.startswith(OFFICIAL_HEAD) for k in state):
        state = convert_official_state_dict(state)
    if mmpose:
        state = to_mmpose_layout(state)
    save_atomic({"meta": checkpoint.get("meta", {}), "state_dict": state}, dst)
    return len(state)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", help="input checkpoint")
    parser.add_argument("dst", help="output checkpoint")
    parser.add_argument("--reverse", action="store_true",
                        help="this package's layout -> the original's")
    parser.add_argument("--mmpose", action="store_true",
                        help="write mmpose 1.x HRFormer's layout (fused qkv, proj, ffn)")
    args = parser.parse_args(argv)
    count = convert(args.src, args.dst, args.reverse, args.mmpose)
    print(f"wrote {args.dst} ({count} tensors)")


if __name__ == "__main__":
    main()
