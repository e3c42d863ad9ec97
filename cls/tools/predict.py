"""Classify images: top-k class ids, ImageNet names and probabilities per image.

    python tools/predict.py IMAGE_OR_FOLDER --model hrt_small --checkpoint hrt_small.pth \
        [--topk 5] [--out predictions.csv|predictions.json]

A thin command line over `apis.ClsInferencer` (same results): images are read upright (EXIF
orientation), 16-bit files scaled to 8 bits, and go through main.py's evaluation transform.
A folder is searched recursively, with a progress bar. Names are those the checkpoint
stores (a fine-tuned one: its image folders'), else timm's ImageNet-1k descriptions for
1000-class checkpoints, else the class index (or `--class-names FILE`, one name per line).
`--backend onnxruntime|openvino` runs the network there (`--onnx FILE`, or exported from the
checkpoint first); `--precision bf16` in bfloat16. Bad input ends with `predict.py: error: ...`
and exit status 2; `--out` is checked before any work. A file of a folder that cannot be read
is named and skipped, the others are classified, the skipped ones listed at the end, exit
status 1. An existing `--out` table is refused, or extended (`--skip-existing`: its rows are
kept, the images it does not list are classified and added) or replaced (`--overwrite`); a
table another run wrote meanwhile is never replaced.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)
from apis import ClsInferencer, deploy  # noqa: E402
from apis.predictions import read_predictions, write_predictions  # noqa: E402
from hrformer_common.cli import add_runtime_args, exit_on_bad_input, positive_int  # noqa: E402
from hrformer_common.images import SkippedImages, find_images, read_image  # noqa: E402
from hrformer_common.outputs import (add_result_args, check_output_file,  # noqa: E402
                                     plan_results, result_policy)
from hrformer_common.runners import check_choice  # noqa: E402

OUTPUT_SUFFIXES = (".csv", ".json")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--input-size", type=positive_int, default=224,
                        help="(with a variant name; a yacs config gives its own)")
    parser.add_argument("--topk", type=positive_int, default=5)
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--class-names", help="file with one class name per line")
    parser.add_argument("--out", "--output", dest="out",
                        help="write predictions to a .csv or .json file")
    add_result_args(parser)
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if (args.skip_existing or args.overwrite) and not args.out:
        parser.error("--skip-existing and --overwrite apply to the table of --out")
    return args


def plan_table(args: argparse.Namespace) -> tuple[Path | None, list[dict], bool]:
    """Before any work: the --out table, the rows of it a rerun keeps (--skip-existing), and
    whether the run may replace it (it existed and a flag allows it)."""
    if not args.out:
        return None, [], False
    output = check_output_file(args.out, OUTPUT_SUFFIXES, "--out")
    policy = result_policy(args)
    # one result, the table, for all the images: skipping means keeping its rows and
    # replacing the file
    plan = plan_results({Path(args.images): [output]},
                        "overwrite" if policy == "skip" else policy)
    kept = read_predictions(output) if policy == "skip" and output.exists() else []
    return output, kept, plan.may_replace(output)


def classify_files(classify: ClsInferencer, paths: list[Path], batch_size: int,
                   skipped: SkippedImages) -> list[dict]:
    """A row per readable file (printed as it comes), in batches; unreadable files skipped."""
    rows = []
    progress = tqdm(total=len(paths), desc="classifying", unit="image",
                    disable=len(paths) == 1)
    for start in range(0, len(paths), batch_size):
        readable = []
        for path in paths[start:start + batch_size]:
            with skipped.skipping(path):
                readable.append((path, read_image(path)))
        for (path, _), result in zip(readable, classify([pixels for _, pixels in readable])):
            rows.append({"image": str(path), **result})
            print(f"{path}: " + ", ".join(f"{t['class_id']} {t['name']} ({t['probability']:.3f})"
                                          for t in result["topk"]))
        progress.update(len(paths[start:start + batch_size]))
    progress.close()
    return rows


def main(argv: list[str] | None = None) -> tuple[list[dict], int]:
    """The rows this run classified, and the exit status (1 when files were skipped)."""
    args = parse_args(argv)
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    output, kept, replace = plan_table(args)
    source = Path(args.images)
    images = find_images(source)  # before loading the model
    if source.is_file():
        read_image(source)  # one unreadable image is bad input (exit 2), named up front
    listed = {row["image"] for row in kept}
    todo = [path for path in images if str(path) not in listed]
    if len(todo) < len(images):
        print(f"{len(images) - len(todo)} images have their rows in {output} already "
              "(--skip-existing)", file=sys.stderr)
    if not todo:
        return [], 0
    classify = ClsInferencer(args.model, args.checkpoint,
                             input_size=args.input_size, topk=args.topk,
                             class_names=args.class_names, backend=args.backend,
                             precision=args.precision, onnx=args.onnx, threads=args.threads,
                             device=args.device, compile=args.compile,
                             batch_size=args.batch_size)
    ranks = {len(row["topk"]) for row in kept} - {classify.topk}
    if ranks:
        raise ValueError(f"{output}: its rows list {min(ranks)} classes per image, this run "
                         f"{classify.topk} (--topk); rerun with the table's --topk, or "
                         "--overwrite")
    print(f"network: {classify.describe()}", file=sys.stderr)
    skipped = SkippedImages()
    rows = classify_files(classify, todo, args.batch_size, skipped)
    if output is not None:
        write_predictions(kept + rows, output, replace)
    return rows, skipped.report()


if __name__ == "__main__":
    exit_on_bad_input(lambda: sys.exit(main()[1]), "predict.py")
