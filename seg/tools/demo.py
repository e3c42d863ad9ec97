"""End-to-end CPU demo: generate a small Cityscapes-like dataset, train HRFormer + OCR
through main.py, test single-scale and multi-scale + flip, save colour predictions beside
the ground truth. Run from seg/: `python tools/demo.py`. The last line is machine-readable:
`demo-result: task=seg metric=mIoU value=<0..1> seconds=<wall>`.

The three main.py commands run in this process (each printed as its command line), which
saves two interpreter and torch start-ups.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

SEG = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SEG))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

from lib.datasets import DatasetClasses, build_mapper  # noqa: E402
from lib.utils.configer import Configer  # noqa: E402
from tools.make_demo_data import generate  # noqa: E402

CONFIG = "configs/demo/H_48_D_4.json"
CONFIG_MS = "configs/demo/H_48_D_4_TEST_MS3x.json"


def run_main(args: list[str]) -> dict | float | None:
    """`python main.py ARGS` (from seg/), run in this process."""
    from main import main
    print("$ python main.py " + " ".join(args), flush=True)
    return main(args)


def save_comparisons(root: Path, pred_dirs: dict[str, Path], out_dir: Path) -> None:
    """image | ground truth | one column per prediction folder, as one PNG per image."""
    configer = Configer.from_file(SEG / CONFIG)
    mapper, classes = build_mapper(configer), DatasetClasses.of(configer)
    out_dir.mkdir(parents=True, exist_ok=True)
    for label_path in sorted((root / "val" / "label").glob("*.png")):
        image = np.asarray(Image.open(root / "val" / "image" / label_path.name).convert("RGB"))
        gt = mapper.to_train_ids(np.asarray(Image.open(label_path)), str(label_path))
        columns = [image, classes.colorize(gt)]
        for pred_dir in pred_dirs.values():
            pred = mapper.to_train_ids(np.asarray(Image.open(pred_dir / label_path.name)),
                                       str(pred_dir))
            columns.append(classes.colorize(pred))
        Image.fromarray(np.concatenate(columns, axis=1)).save(out_dir / label_path.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work-dir", "--work_dir", dest="work_dir", default="demo_data")
    parser.add_argument("--max-iters", "--max_iters", dest="max_iters", type=int, default=120)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for training/testing (1 stays fast on a busy CPU)")
    parser.add_argument("--workers", type=int, default=1,
                        help="data-loading processes beside the model's (main.py --workers)")
    parser.add_argument("--amp", choices=["none", "bf16"], default="none",
                        help="bf16: train under bfloat16 autocast (main.py --amp)")
    args = parser.parse_args()
    start = time.perf_counter()
    os.chdir(SEG)  # main.py's relative paths (configs, the backbone layout) are seg/'s
    work = SEG / args.work_dir
    data = generate(work / "dataset", num_train=64, num_val=16, seed=0)
    ckpt_dir = work / "checkpoints"
    common = ["--data_dir", str(data), "--num_threads", str(args.threads),
              "--workers", str(args.workers), "checkpoints.checkpoints_dir", str(ckpt_dir)]
    run_main(["--configs", CONFIG, "--phase", "train", "--max_iters", str(args.max_iters),
              "--amp", args.amp, *common])
    best = ckpt_dir / "demo_hrt_ocr_v2_max_performance.pth"
    results = {}
    for mode, config in (("ss", CONFIG), ("ms_flip", CONFIG_MS)):
        result = run_main(["--configs", config, "--phase", "test", "--resume", str(best),
                           "--out_dir", str(work / f"val_{mode}"), "--test_split", "val",
                           *common])
        results[mode] = result["mIoU"]
    save_comparisons(data, {m: work / f"val_{m}" / "label" for m in results},
                     work / "compare")
    seconds = time.perf_counter() - start
    print(f"held-out mIoU: single-scale {results['ss']:.4f}, multi-scale+flip "
          f"{results['ms_flip']:.4f}; comparisons (image | GT | ss | ms+flip) in "
          f"{work / 'compare'}")
    print(f"demo-result: task=seg metric=mIoU value={results['ms_flip']:.4f} "
          f"seconds={seconds:.0f}")


if __name__ == "__main__":
    main()
