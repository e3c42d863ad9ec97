"""ImageNet-1K table of the paper from the released checkpoints (HRFormer-T/S/B).

    python tools/reproduce_table.py --checkpoints DIR --data IMAGENET [--rows HRFormer-T ...]
        [--json FILE] [--out FILE.md] [--work-dir DIR]
    torchrun --nproc_per_node 8 tools/reproduce_table.py --checkpoints DIR --data IMAGENET

Each row present in DIR is evaluated exactly as `run_eval.sh` does (`main.py --eval` on the
row's config: 224x224 centre crop, the config's AMP), on IMAGENET in the folder or zip
layout. Run from `cls/`.
"""
from __future__ import annotations

import sys
from pathlib import Path

CLS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CLS))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import main as cls_main  # noqa: E402
from engine.distributed import init_distributed  # noqa: E402
from hrformer_common.reproduce import Row, Tool  # noqa: E402

# The released rows (the original README's ImageNet-1K table).
ROWS = (
    Row("HRFormer-T", "hrt_tiny.pth",
        "https://1drv.ms/u/s!Ai-PFrdirDvwj1UXGB63dBVVOuLO?e=ZLOY7r",
        "https://1drv.ms/t/s!Ai-PFrdirDvwj1S0MH9FzWCwzzxE?e=6p1Q3X",
        {"acc@1": 78.6, "acc@5": 94.2}, {"config": "configs/hrt/hrt_tiny.yaml"}),
    Row("HRFormer-S", "hrt_small.pth",
        "https://1drv.ms/u/s!Ai-PFrdirDvwj1cc3tSp4kIKI_JH?e=bHW7xj",
        "https://1drv.ms/t/s!Ai-PFrdirDvwj1l2RxNkcb6lmGF3?e=hZ9A1K",
        {"acc@1": 81.2, "acc@5": 95.6}, {"config": "configs/hrt/hrt_small.yaml"}),
    Row("HRFormer-B", "hrt_base.pth",
        "https://1drv.ms/u/s!Ai-PFrdirDvwj1iNZngTF7PEyik9?e=fv8CG6",
        "https://1drv.ms/t/s!Ai-PFrdirDvwj1aBKjc1mKQCkwen?e=spYZOe",
        {"acc@1": 82.8, "acc@5": 96.3}, {"config": "configs/hrt/hrt_base.yaml"}),
)


def evaluate(row: Row, checkpoint: Path, data: Path, work_dir: Path) -> dict[str, float]:
    """`main.py --eval` as run_eval.sh calls it (log in work_dir/<model>/eval); acc@1 / acc@5
    in percent."""
    args = cls_main.parse_args(["--eval", "--cfg", str(CLS / row.settings["config"]),
                                "--resume", str(checkpoint), "--data-path", str(data),
                                "--output", str(work_dir), "--tag", "eval"])
    result = cls_main.run(cls_main.build_config(args), init_distributed())["val"]
    return {"acc@1": result["acc1"], "acc@5": result["acc5"]}


TOOL = Tool(__doc__, ROWS, evaluate, data_help="ImageNet root (folder or zip layout)",
            work_dir="output/reproduce_table")
run = TOOL.run

if __name__ == "__main__":
    TOOL.cli()
