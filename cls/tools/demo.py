"""Digits demo: train a small HRFormer with main.py on scikit-learn's handwritten digits.

    cd cls && ../.venv/bin/python tools/demo.py

The 1,797 real 8x8 digit images ship inside scikit-learn (no download). They are upscaled to
32x32, split 80/20 (stratified, fixed seed) and written once in the ImageNet folder layout under
cls/demo_data/digits; main.py then trains configs/demo/hrt_digits.yaml on CPU and evaluates on
the held-out fifth. Prints a per-epoch table, saves curves.png into the output folder, and ends
with a machine-readable `demo-result:` line.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

CLS_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CLS_ROOT))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import main as cls_main  # noqa: E402  (needs the cls root on sys.path)

CONFIG = CLS_ROOT / "configs" / "demo" / "hrt_digits.yaml"
DATA_ROOT = CLS_ROOT / "demo_data" / "digits"
SIZE = 32
BAR = 0.90


def write_digits(root: Path, seed: int = 0) -> tuple[int, int]:
    """sklearn digits -> root/{train,val}/<digit>/<index>.png; returns (train, val) counts."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    indices = np.arange(len(digits.target))
    train, val = train_test_split(indices, test_size=0.2, stratify=digits.target,
                                  random_state=seed)
    marker = root / "complete.json"
    if marker.is_file() and json.loads(marker.read_text()) == [len(train), len(val)]:
        return len(train), len(val)
    shutil.rmtree(root, ignore_errors=True)
    for split, chosen in (("train", train), ("val", val)):
        for digit in range(10):
            (root / split / str(digit)).mkdir(parents=True, exist_ok=True)
        for i in chosen:
            pixels = (digits.images[i] * (255 / 16)).astype(np.uint8)  # values are 0..16
            image = Image.fromarray(pixels).resize((SIZE, SIZE), Image.BILINEAR)
            image.save(root / split / str(digits.target[i]) / f"{i:04d}.png")
    marker.write_text(json.dumps([len(train), len(val)]))
    return len(train), len(val)


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] + 1 for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    left.plot(epochs, [h["val_loss"] for h in history], "s-", label="held-out")
    left.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    left.legend()
    right.plot(epochs, [h["val_acc1"] for h in history], "o-")
    right.set(xlabel="epoch", ylabel="top-1 (%)", title="held-out top-1", ylim=(0, 100))
    right.axhline(100 * BAR, color="grey", linestyle="--", linewidth=1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(CLS_ROOT / "output"))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for this process (1 is fastest on a busy CPU)")
    parser.add_argument("--amp", choices=["none", "bf16"], default="none",
                        help="bf16: train and evaluate under bfloat16 autocast")
    parser.add_argument("--opts", nargs="+", default=[], help="extra config overrides")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    n_train, n_val = write_digits(DATA_ROOT)
    print(f"digits: {n_train} train / {n_val} held-out images in {DATA_ROOT}", flush=True)
    run_dir = Path(args.output) / "hrt_digits" / "demo"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh run, not an auto-resume
    opts = (["AMP_OPT_LEVEL", "O1", "AMP_DTYPE", "bfloat16"] if args.amp == "bf16" else []) \
        + args.opts
    argv = ["--cfg", str(CONFIG), "--data-path", str(DATA_ROOT), "--output", args.output,
            "--tag", "demo"] + (["--opts", *opts] if opts else [])
    result = cls_main.main(argv)
    history = result["history"]
    plot_curves(history, run_dir / "curves.png")
    seconds = time.time() - start
    print("\n| epoch | train loss | held-out loss | top-1 % | top-5 % |")
    print("|------:|-----------:|--------------:|--------:|--------:|")
    for h in history:
        print(f"| {h['epoch'] + 1:5d} | {h['train_loss']:10.4f} | {h['val_loss']:13.4f} "
              f"| {h['val_acc1']:7.2f} | {h['val_acc5']:7.2f} |")
    top1 = result["val"]["acc1"] / 100
    verdict = "reached" if top1 >= BAR else "MISSED"
    print(f"\nheld-out top-1 {100 * top1:.2f}% ({verdict} the {100 * BAR:.0f}% bar) in "
          f"{seconds:.0f} s; curves: {run_dir / 'curves.png'}; log: {run_dir / 'log_rank0.txt'}")
    print(f"demo-result: task=cls metric=top1 value={top1:.4f} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
