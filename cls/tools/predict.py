"""Classify images: top-k class ids, ImageNet names and probabilities per image.

    python tools/predict.py IMAGE_OR_FOLDER --model hrt_small --checkpoint hrt_small.pth \
        [--topk 5] [--out predictions.csv|predictions.json]

A thin command line over `apis.ClsInferencer` (same results): images are read upright (EXIF
orientation), 16-bit files scaled to 8 bits, and go through main.py's evaluation transform.
A folder is searched recursively, with a progress bar. Names are those the checkpoint
stores (a fine-tuned one: its image folders'), else timm's ImageNet-1k descriptions for
1000-class checkpoints, else the class index (or `--class-names FILE`, one name per line). `--backend onnxruntime|openvino` runs the network there (`--onnx FILE`,
or exported from the checkpoint first); `--precision bf16` in bfloat16. Bad input ends with
`predict.py: error: ...` and exit status 2; `--out` is checked before any work.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)
from apis import ClsInferencer, deploy  # noqa: E402
from hrformer_common.atomic import write_text_atomic  # noqa: E402
from hrformer_common.cli import add_runtime_args, exit_on_bad_input  # noqa: E402
from hrformer_common.images import find_images  # noqa: E402
from hrformer_common.outputs import check_output_file  # noqa: E402
from hrformer_common.runners import check_choice  # noqa: E402

OUTPUT_SUFFIXES = (".csv", ".json")


def write_predictions(rows: list[dict], path: Path) -> None:
    """The rows as JSON, or as CSV with one line per image and rank; written atomically."""
    if path.suffix.lower() == ".json":
        write_text_atomic(json.dumps(rows, indent=1), path)
        return
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["image", "rank", "class_id", "name", "probability"])
    for row in rows:
        for rank, top in enumerate(row["topk"], 1):
            writer.writerow([row["image"], rank, top["class_id"], top["name"],
                             f"{top['probability']:.6f}"])
    write_text_atomic(table.getvalue(), path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--input-size", type=int, default=224,
                        help="(with a variant name; a yacs config gives its own)")
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--class-names", help="file with one class name per line")
    parser.add_argument("--out", "--output", dest="out",
                        help="write predictions to a .csv or .json file")
    add_runtime_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    output = check_output_file(args.out, OUTPUT_SUFFIXES, "--out") if args.out else None
    images = find_images(Path(args.images))  # before loading the model
    classify = ClsInferencer(args.model, args.checkpoint,
                             input_size=args.input_size, topk=args.topk,
                             class_names=args.class_names, backend=args.backend,
                             precision=args.precision, onnx=args.onnx, threads=args.threads,
                             device=args.device, compile=args.compile,
                             batch_size=args.batch_size)
    print(f"network: {classify.describe()}", file=sys.stderr)
    rows = []
    progress = tqdm(total=len(images), desc="classifying", disable=len(images) == 1)
    for start in range(0, len(images), args.batch_size):
        batch = images[start:start + args.batch_size]
        for path, result in zip(batch, classify(batch)):
            rows.append({"image": str(path), **result})
            print(f"{path}: " + ", ".join(f"{t['class_id']} {t['name']} ({t['probability']:.3f})"
                                          for t in result["topk"]))
        progress.update(len(batch))
    progress.close()
    if output is not None:
        write_predictions(rows, output)
    return rows


if __name__ == "__main__":
    exit_on_bad_input(main, "predict.py")
