"""pose: speed of the whole top-down pipeline and of the pose network per crop
(`python tools/benchmark.py pipeline ...`; the network rows of `tools/benchmark.py` itself
time fixed batches of one model per process).

    python tools/benchmark.py pipeline --threads 1 --people 1 5 10 \
        --backends torch:fp32 onnxruntime:fp32 openvino:fp32 openvino:bf16

Two tables, from one process whose candidates are timed in interleaved rounds (each keeps its
best), so machine load hits them alike; compare the ratio columns:
- the network alone, crops/s at batch 1 and 8 per backend, as `PoseInferencer` runs it
  (BatchNorm folded; the runtimes from a fixed-size export), against the network as the image
  demo ran it before: mmpose's estimator, unfolded, eager, one crop at a time;
- the pipeline, frames/s: the person detector on a 640x480 frame, then the pose network on
  exactly N people (all crops in one batch), flip test off and on, per backend.
Weights are the layers' initial ones (no download; the speed is the same). The detector is
`--det` with initial weights too (torchvision) or as given (yolox, which runs on the pose
backend's runtime where it can); the boxes it finds are not used, so every row has N people.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from hrformer_common.benchmark import aligned, cpu_has_native_bf16, cpu_line
from hrformer_common.cli import positive_int
from hrformer_common.runners import BACKENDS, PRECISIONS, check_choice
from hrformer_pose.apis import PoseInferencer, build_detector
from hrformer_pose.apis.torchvision_detector import untrained_model
from hrformer_pose.deploy import InferenceNet, input_size, load_pose_model
from mmengine.config import Config

POSE = Path(__file__).resolve().parents[1]
CONFIG = POSE / "configs" / "hrformer" / "coco" / "hrt_small_coco_256x192.py"
FRAME_HW = (480, 640)
PEOPLE_PER_ROW = 5
BASELINE = "eager, unfolded, one crop at a time"


@dataclass(frozen=True)
class Timed:
    """A candidate: `run()` does `items` units of work (crops or frames)."""
    label: tuple
    run: Callable[[], object]
    items: int


def backend_choice(text: str) -> tuple[str, str]:
    backend, _, precision = text.partition(":")
    try:
        check_choice(backend, precision or "fp32")
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
    return backend, precision or "fp32"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmark.py pipeline",
                                description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(CONFIG), help="the pose model's config")
    p.add_argument("--det", default="torchvision:ssdlite320_mobilenet_v3_large",
                   help="person detector spec (torchvision: initial weights; none: no "
                        "detection)")
    p.add_argument("--backends", nargs="+", type=backend_choice, metavar="BACKEND:PRECISION",
                   default=[("torch", "fp32"), ("onnxruntime", "fp32"), ("openvino", "fp32"),
                            ("openvino", "bf16")],
                   help=f"backends ({', '.join(BACKENDS)}) and precisions "
                        f"({', '.join(PRECISIONS)}); bf16 is skipped on CPUs without native "
                        "bf16")
    p.add_argument("--people", nargs="+", type=positive_int, default=[1, 5, 10])
    p.add_argument("--batches", nargs="+", type=positive_int, default=[1, 8],
                   help="batch sizes of the network rows")
    p.add_argument("--rounds", type=positive_int, default=2, help="interleaved rounds")
    p.add_argument("--iters", type=positive_int, default=2, help="timed runs per round")
    p.add_argument("--threads", type=positive_int, default=torch.get_num_threads())
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="where the torch backend and a torchvision detector run (the runtimes "
                        "run on the CPU)")
    args = p.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        p.error(f"--device {args.device}: this machine has no CUDA device")
    return args


def frame_and_boxes(people: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 640x480 RGB frame and `people` boxes `x, y, w, h` in a grid."""
    height, width = FRAME_HW
    frame = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    columns = min(people, PEOPLE_PER_ROW)
    rows = math.ceil(people / PEOPLE_PER_ROW)
    cell_w, cell_h = width / columns, height / rows
    boxes = [[(i % columns + 0.1) * cell_w, (i // columns + 0.05) * cell_h, 0.8 * cell_w,
              0.9 * cell_h] for i in range(people)]
    return frame, np.array(boxes, np.float32)


def timing_detector(spec: str, folder: Path, threads: int, device: str):
    """The detector of `spec`; a torchvision one with its initial weights (saved to `folder`
    and loaded as its checkpoint: nothing is downloaded)."""
    kind, _, name = spec.partition(":")
    if kind != "torchvision":
        return build_detector(spec, threads=threads)
    path = folder / "detector.pth"
    torch.save(untrained_model(name).state_dict(), path)
    return build_detector(spec, checkpoint=path, threads=threads, device=device)


def candidates(args: argparse.Namespace, cfg: Config, folder: Path) -> list[Timed]:
    height, width = input_size(cfg)
    crops = {b: torch.randn(b, 3, height, width) for b in [1, *args.batches]}
    unfolded = InferenceNet(load_pose_model(cfg, None, args.device)).eval()
    timed = [Timed(("network", BASELINE, "fp32", 1),
                   lambda: unfolded(crops[1].to(args.device)).cpu(), 1)]
    detector = timing_detector(args.det, folder, args.threads, args.device)
    for backend, precision in args.backends:
        pose = PoseInferencer(cfg, None, det=detector, backend=backend, precision=precision,
                              threads=args.threads,
                              device=args.device if backend == "torch" else "cpu")
        for batch in args.batches:
            timed.append(Timed(("network", backend, precision, batch),
                               lambda p=pose, x=crops[batch]: p.runner(x)["heatmaps"].cpu(),
                               batch))
        for flip in (False, True):
            for people in args.people:
                frame, boxes = frame_and_boxes(people)

                def step(p=pose, f=frame, b=boxes, flip=flip) -> None:
                    p.flip_test = flip
                    p.detector(f, "frame")
                    p(f, boxes=b)
                timed.append(Timed(("pipeline", backend, precision, flip, people), step, 1))
    return timed


def measure(timed: Sequence[Timed], rounds: int, iters: int) -> dict[tuple, float]:
    """Seconds per item of each candidate: the best run over interleaved rounds."""
    best = {t.label: math.inf for t in timed}
    with torch.no_grad():
        for t in timed:  # warm-up (first-call allocations, runtime compilation)
            t.run()
        for _ in range(rounds):
            for t in timed:
                for _ in range(iters):
                    start = time.perf_counter()
                    t.run()
                    best[t.label] = min(best[t.label], (time.perf_counter() - start) / t.items)
    return best


def network_table(seconds: dict[tuple, float]) -> str:
    base = seconds[("network", BASELINE, "fp32", 1)]
    lines = [[backend, precision, str(batch), f"{1 / s:.2f}", f"{base / s:.2f}"]
             for (kind, backend, precision, batch, *_), s in seconds.items()
             if kind == "network"]
    return aligned(["network", "precision", "batch", "crops/s", "x unfolded eager b1"], lines)


def pipeline_table(seconds: dict[tuple, float], detector: str) -> str:
    rows = {k[1:]: s for k, s in seconds.items() if k[0] == "pipeline"}
    lines = []
    for (backend, precision, flip, people), s in rows.items():
        torch_fp32 = rows.get(("torch", "fp32", flip, people))
        ratio = "-" if torch_fp32 is None else f"{torch_fp32 / s:.2f}"
        lines.append([backend, precision, "on" if flip else "off", str(people), detector,
                      f"{1 / s:.2f}", f"{1000 * s:.0f}", ratio])
    return aligned(["pose backend", "precision", "flip test", "people", "detector", "frames/s",
                    "ms/frame", "x torch fp32"], lines)


def run(argv: Sequence[str] | None = None) -> dict[tuple, float]:
    """Parse, measure, print both tables; returns seconds per crop / frame by row."""
    args = parse_args(argv)
    if not cpu_has_native_bf16() and any(p == "bf16" for _, p in args.backends):
        print("skipped the bf16 rows: this CPU has no native bf16", file=sys.stderr)
        args.backends = [b for b in args.backends if b[1] != "bf16"]
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    with tempfile.TemporaryDirectory(prefix="pose_pipeline_bench_") as folder:
        seconds = measure(candidates(args, cfg, Path(folder)), args.rounds, args.iters)
    print(cpu_line())
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}; "
          f"{Path(args.config).stem}; best of {args.rounds} interleaved round(s) x "
          f"{args.iters} runs")
    print(network_table(seconds))
    print(pipeline_table(seconds, args.det))
    return seconds
