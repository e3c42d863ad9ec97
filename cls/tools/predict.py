"""Classify images: top-k class ids, ImageNet names and probabilities per image.

    python tools/predict.py IMAGE_OR_FOLDER --model hrt_small --checkpoint hrt_small.pth \
        [--topk 5] [--output predictions.csv|predictions.json]

Images go through main.py's evaluation transform (resize, centre crop, normalisation). A
folder is searched recursively, with a progress bar. Names are timm's ImageNet-1k
descriptions for 1000-class checkpoints, the class index otherwise (or `--class-names FILE`,
one name per line). `--backend onnxruntime|openvino` runs the network there (`--onnx FILE`,
or exported from the checkpoint first); `--precision bf16` in bfloat16.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hrformer_common.images import find_images  # noqa: E402
from hrformer_common.runtime import check_choice, make_runner  # noqa: E402
from tools import deploy  # noqa: E402


def class_names(num_classes: int, names_file: str | None) -> list[str]:
    if names_file:
        names = [line.strip() for line in Path(names_file).read_text().splitlines() if line.strip()]
        if len(names) != num_classes:
            raise ValueError(f"{names_file}: {len(names)} names for a {num_classes}-class model")
        return names
    if num_classes == 1000:
        from timm.data import ImageNetInfo
        info = ImageNetInfo()
        return [info.index_to_description(i) for i in range(num_classes)]
    return [str(i) for i in range(num_classes)]


def write_predictions(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=1))
        return
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["image", "rank", "class_id", "name", "probability"])
        for row in rows:
            for rank, top in enumerate(row["topk"], 1):
                writer.writerow([row["image"], rank, top["class_id"], top["name"],
                                 f"{top['probability']:.6f}"])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", metavar="IMAGE_OR_FOLDER")
    deploy.add_model_args(parser)
    parser.add_argument("--input-size", type=int, default=224, help="(with --model)")
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--class-names", help="file with one class name per line")
    parser.add_argument("--output", help="write predictions to a .csv or .json file")
    deploy.add_runtime_args(parser)
    args = parser.parse_args(argv)
    check_choice(args.backend, args.precision)
    if args.output and Path(args.output).suffix not in (".csv", ".json"):
        parser.error(f"--output {args.output}: expected a .csv or .json file")
    return args


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    images = find_images(Path(args.images))  # before loading the model
    if args.threads:
        torch.set_num_threads(args.threads)
    transform = deploy.eval_transform(args.cfg, args.input_size)
    size = tuple(transform(Image.new("RGB", (8, 8))).shape[-2:])
    model, card = deploy.inference_model(args.model, args.checkpoint, args.cfg, size)
    names = class_names(model.classifier.out_features, args.class_names)
    runner = make_runner(args.backend, args.precision, model=model, onnx_path=args.onnx,
                         output_names=deploy.OUTPUT_NAMES, compile=args.compile,
                         threads=args.threads, export_size=size, card=card)
    print(f"network: {runner.describe()}", file=sys.stderr)
    k = min(args.topk, len(names))
    rows = []
    progress = tqdm(total=len(images), desc="classifying", disable=len(images) == 1)
    for start in range(0, len(images), args.batch_size):
        batch = images[start:start + args.batch_size]
        x = torch.stack([transform(Image.open(p).convert("RGB")) for p in batch])
        probs = runner(x)["logits"].softmax(dim=-1)
        top = probs.topk(k, dim=-1)
        for path, p, i in zip(batch, top.values.tolist(), top.indices.tolist()):
            rows.append({"image": str(path), "topk": [
                {"class_id": c, "name": names[c], "probability": q} for c, q in zip(i, p)]})
            print(f"{path}: " + ", ".join(f"{c} {names[c]} ({q:.3f})" for c, q in zip(i, p)))
        progress.update(len(batch))
    progress.close()
    if args.output:
        write_predictions(rows, Path(args.output))
    return rows


if __name__ == "__main__":
    main()
