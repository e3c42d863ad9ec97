"""Embedded demo, no download: generate stick figures, train a small HRFormer, report COCO AP.

    python tools/demo.py                      # from pose/; about 3 minutes on 2 CPU cores

Steps: write a COCO-format keypoint dataset of drawn stick figures to demo_data/ (skipped when
it is already there), train with mmengine's Runner and the mmpose top-down pipeline, evaluate
the held-out split with CocoMetric (ground-truth boxes, flip test), draw a few predictions to
<work-dir>/predictions/. The last line printed is machine-readable:
`demo-result: task=pose metric=AP value=<AP> seconds=<wall time>`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

START = time.time()
POSE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(POSE))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import torch  # noqa: E402

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose.apis)
from demo.stick_figures import make_split  # noqa: E402
from hrformer_pose.device import adapt_to_device  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

CONFIG = POSE / "configs" / "demo" / "hrt_demo_stick_figures_128x96.py"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--data-root", default=str(POSE / "demo_data" / "stick_figures"))
    parser.add_argument("--work-dir", default=str(POSE / "work_dirs" / "demo"))
    parser.add_argument("--num-train", type=int, default=1500, help="training images")
    parser.add_argument("--num-val", type=int, default=150, help="held-out images")
    parser.add_argument("--epochs", type=int, default=None, help="override the config's")
    parser.add_argument("--num-drawn", type=int, default=4, help="predictions to draw")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the training process (1: the data loader "
                             "has the other core of a 2-core machine; 0: torch's choice)")
    parser.add_argument("--amp", choices=["none", "bf16"], default="none",
                        help="bf16: train under bfloat16 autocast (any device)")
    return parser.parse_args()


def ensure_dataset(root: Path, num_train: int, num_val: int) -> None:
    """Generate both splits unless a dataset of the same size is already there."""
    stamp = root / "annotations" / "sizes.json"
    sizes = {"train": num_train, "val": num_val}
    if stamp.is_file() and json.loads(stamp.read_text()) == sizes:
        return
    make_split(root, "train", num_train, seed=1)
    make_split(root, "val", num_val, seed=2)  # different seed: held-out figures
    stamp.write_text(json.dumps(sizes))


def demo_config(args: argparse.Namespace) -> Config:
    cfg = Config.fromfile(args.config)
    root = args.data_root.rstrip("/") + "/"
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.dataset.data_root = root
    cfg.val_evaluator.ann_file = root + "annotations/val.json"
    cfg.test_evaluator = cfg.val_evaluator
    if args.epochs is not None:
        cfg.train_cfg.max_epochs = cfg.train_cfg.val_interval = args.epochs
        cfg.default_hooks.checkpoint.interval = args.epochs
        for scheduler in cfg.param_scheduler:
            if scheduler.type == "CosineAnnealingLR":
                scheduler.end = scheduler.T_max = args.epochs
    cfg.work_dir = args.work_dir
    if args.amp == "bf16":
        cfg.optim_wrapper.type = "AutocastOptimWrapper"
        cfg.optim_wrapper.dtype = "bfloat16"
    return adapt_to_device(cfg)


def draw_predictions(cfg: Config, checkpoint: str, root: Path, out_dir: Path, count: int) -> None:
    """Run the saved checkpoint on the first held-out images (GT boxes) and draw skeletons."""
    import mmcv
    import numpy as np
    from mmpose.apis import inference_topdown, init_model
    from mmpose.registry import VISUALIZERS
    from mmpose.structures import merge_data_samples

    model = init_model(cfg, checkpoint, device="cpu")
    visualizer = VISUALIZERS.build(dict(type="PoseLocalVisualizer", name="demo_drawer",
                                        backend="matplotlib",
                                        radius=2, line_width=1))
    visualizer.set_dataset_meta(model.dataset_meta)
    annotations = json.loads((root / "annotations" / "val.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    for image in annotations["images"][:count]:
        boxes = np.array([a["bbox"] for a in annotations["annotations"]
                          if a["image_id"] == image["id"]])
        path = str(root / "val" / image["file_name"])
        samples = inference_topdown(model, path, boxes, bbox_format="xywh")
        img = mmcv.imread(path, channel_order="rgb")
        visualizer.add_datasample("prediction", img, merge_data_samples(samples), draw_gt=False,
                                  draw_bbox=True, kpt_thr=0.2, show=False,
                                  out_file=str(out_dir / image["file_name"]))


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.data_root)
    ensure_dataset(root, args.num_train, args.num_val)
    print(f"dataset ready in {root} ({time.time() - START:.0f} s)", flush=True)
    cfg = demo_config(args)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ap = float(runner.message_hub.get_scalar("val/coco/AP").current())
    checkpoint = Path(args.work_dir) / f"epoch_{cfg.train_cfg.max_epochs}.pth"
    draw_predictions(cfg, str(checkpoint), root, Path(args.work_dir) / "predictions",
                     args.num_drawn)
    print(f"predictions drawn in {Path(args.work_dir) / 'predictions'}")
    print(f"demo-result: task=pose metric=AP value={ap:.4f} seconds={time.time() - START:.1f}")


if __name__ == "__main__":
    main()
