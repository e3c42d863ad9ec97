"""Official dataset downloads -> openseg's prepared layout `<save_dir>/{train,val}/{image,label}/`.

    python tools/prepare_data.py {cityscapes,ade20k,coco_stuff,pascal_context} \\
        --ori-root-dir SRC --save-dir DST [--link] [--coarse]

SRC is the folder the official archives were extracted into (see seg/README.md, "Data");
DST is `$DATA_ROOT/<dataset folder>`. Image suffixes match in any letter case (`.JPG`); a
split with no image at all is an error naming where it was searched. Re-running skips the
files that are finished (an image copy of the source's size, or the right link; a label PNG
that decodes) and redoes any other; at the end the image counts are compared with the
official split sizes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from tools.prepare import DATASETS  # noqa: E402
from tools.prepare.common import compare_counts, require_samples, write_split  # noqa: E402


def prepare(dataset: str, src: Path, dst: Path, link: bool = False,
            coarse: bool = False) -> list[str]:
    """Convert one dataset; returns the count report lines (warnings start `WARNING`)."""
    if coarse and dataset != "cityscapes":
        raise ValueError(f"--coarse is for cityscapes only, not {dataset}")
    module = DATASETS[dataset]
    splits = module.splits(src, coarse=coarse)   # lists and pairs everything up front
    require_samples(dataset, splits)
    for split in splits:
        written, skipped = write_split(split, dst, module.read_label, link,
                                       desc=f"{dataset} {split.dst}")
        print(f"{dataset} {split.dst}: {written} written, {skipped} already done -> "
              f"{dst / split.dst}")
    return compare_counts(dataset, splits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--ori-root-dir", "--ori_root_dir", dest="ori_root_dir", required=True,
                        type=Path,
                        help="folder holding the extracted official download")
    parser.add_argument("--save-dir", "--save_dir", dest="save_dir", required=True, type=Path,
                        help="output folder, e.g. $DATA_ROOT/cityscapes")
    parser.add_argument("--link", action="store_true",
                        help="symlink the images instead of copying them")
    parser.add_argument("--coarse", action="store_true",
                        help="cityscapes: also write train_extra from gtCoarse")
    args = parser.parse_args(argv)
    try:
        report = prepare(args.dataset, args.ori_root_dir, args.save_dir, args.link, args.coarse)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for line in report:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
