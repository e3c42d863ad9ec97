"""COCO val2017 table of the paper from the released checkpoints (HRFormer-S/B at 256x192
and 384x288; detected person boxes of AP 56.4, flip test).

    python tools/reproduce_table.py --checkpoints DIR --data ROOT [--rows NAME ...]
        [--json FILE] [--out FILE.md] [--work-dir DIR]
    torchrun --nproc_per_node 8 tools/reproduce_table.py --checkpoints DIR --data ROOT

ROOT holds `coco/` as in this README's Data section (annotations/person_keypoints_val2017.json,
person_detection_results/COCO_val2017_detections_AP_H_56_person.json, val2017/). Each row
present in DIR is tested as `tools/test.py <config> <checkpoint>` does (the config's detector
boxes, flip test and CocoMetric). Run from `pose/`.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

POSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(POSE))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from hrformer_common.reproduce import Row, Tool  # noqa: E402

ANNOTATIONS = "annotations/person_keypoints_val2017.json"
DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"
# table metric -> CocoMetric key
METRICS = {"AP": "coco/AP", "AP50": "coco/AP .5", "AP75": "coco/AP .75", "APM": "coco/AP (M)",
           "APL": "coco/AP (L)", "AR": "coco/AR"}


def _row(backbone: str, size: str, *columns: str) -> Row:
    *paper, config, ckpt, log = columns
    return Row(f"{backbone} {size}", f"{config}.pth", ckpt, log,
               dict(zip(METRICS, map(float, paper), strict=True)),
               {"config": f"configs/hrformer/coco/{config}.py"})


# The released rows (the original README's COCO val2017 table; its ARM / ARL columns are
# the medium / large AP), with their config, checkpoint and log links.
RELEASED = """
backbone   input   AP   AP50 AP75 APM  APL  AR   config                 ckpt                                                      log
HRFormer-S 256x192 74.0 90.2 81.2 70.4 80.7 79.4 hrt_small_coco_256x192 https://1drv.ms/u/s!Ai-PFrdirDvwj2PC53KZd-7v3X0H?e=hUZ0fE https://1drv.ms/u/s!Ai-PFrdirDvwj2Bytw64p9XJuYMt?e=Fj8brM
HRFormer-S 384x288 75.6 90.3 82.2 71.6 82.5 80.7 hrt_small_coco_384x288 https://1drv.ms/u/s!Ai-PFrdirDvwj2TxlkzWYuh9CkvU?e=H50XSl https://1drv.ms/u/s!Ai-PFrdirDvwj2FjbD4E7EQi-2n5?e=8xJqCD
HRFormer-B 256x192 75.6 90.8 82.8 71.7 82.6 80.8 hrt_base_coco_256x192  https://1drv.ms/u/s!Ai-PFrdirDvwj2V-4bLd_7RkjTFW?e=L20Wit https://1drv.ms/u/s!Ai-PFrdirDvwj2KhySyLQ-QHUQ4l?e=FEKmfr
HRFormer-B 384x288 77.2 91.0 83.6 73.2 84.2 82.0 hrt_base_coco_384x288  https://1drv.ms/u/s!Ai-PFrdirDvwj2ZKrF6rWWzoRJUM?e=RCRb0p https://1drv.ms/u/s!Ai-PFrdirDvwj100SWSwSYeZvXvL?e=Tu6Gtm
"""
ROWS = tuple(_row(*line.split()) for line in RELEASED.strip().splitlines()[1:])


def _load_test_tool():
    """tools/test.py as a module (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("pose_test_tool", POSE / "tools" / "test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tool_args(row: Row, checkpoint: Path, data: Path, work_dir: Path) -> list[str]:
    """tools/test.py's arguments for a row, pointed at `data/coco`."""
    coco = data / "coco"
    for path in (coco / ANNOTATIONS, coco / DETECTIONS, coco / "val2017"):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist (expected the layout of "
                                    "pose/README.md, Data)")
    launcher = "pytorch" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "none"
    return [str(POSE / row.settings["config"]), str(checkpoint), "--work-dir", str(work_dir),
            "--launcher", launcher, "--cfg-options",
            f"test_dataloader.dataset.data_root={coco}/",
            f"test_dataloader.dataset.bbox_file={coco / DETECTIONS}",
            f"test_evaluator.ann_file={coco / ANNOTATIONS}"]


def evaluate(row: Row, checkpoint: Path, data: Path, work_dir: Path) -> dict[str, float]:
    """tools/test.py on val2017 with the config's detector boxes and flip test; percent."""
    metrics = _load_test_tool().main(tool_args(row, checkpoint, data, work_dir))
    return {name: 100 * metrics[key] for name, key in METRICS.items()}


TOOL = Tool(__doc__, ROWS, evaluate, data_help="folder holding coco/ (see the Data section)",
            work_dir="work_dirs/reproduce_table")
run = TOOL.run

if __name__ == "__main__":
    TOOL.cli()
