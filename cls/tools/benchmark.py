"""Throughput, latency and peak memory of HRFormer backbones (and timm's HRNet for reference).

Every row runs in a fresh subprocess so that peak memory (CUDA allocator peak, or the CPU
process's peak RSS growth) belongs to that row alone. Compare rows of one run only: shared
machines are noisy, so ratios within a run mean more than absolute numbers.

    python tools/benchmark.py --models hrt_small hrnet_w32 --batch-size 8 --input-size 256 192 \
        --modes forward train --attention sdpa math --channels-last
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing as mp
import os
import resource
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.hrformer import PRESETS, HRFormer, HRFormerOptions, preset  # noqa: E402

SDPA_KERNELS = {  # profiler op name -> what runs
    "aten::_scaled_dot_product_flash_attention_for_cpu": "flash (cpu)",
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "mem-efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_attention_math": "math (fallback)",
}


@dataclass(frozen=True)
class Case:
    model: str
    mode: str  # "forward" (eval, no grad) or "train" (forward + backward + SGD step)
    attention: str
    channels_last: bool
    bf16: bool
    compile: bool
    with_cp: bool
    batch: int
    height: int
    width: int
    device: str
    iters: int
    warmup: int


def build(case: Case) -> nn.Module:
    if case.model in PRESETS:
        options = HRFormerOptions(attention=case.attention, with_cp=case.with_cp,
                                  channels_last=case.channels_last)
        model = HRFormer(preset(case.model), options)
    else:
        import timm  # only the reference CNNs need it
        model = timm.create_model(case.model, features_only=True)
    model = model.to(case.device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return torch.compile(model) if case.compile else model


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def attention_kernel(model: nn.Module, x: torch.Tensor, case: Case) -> str:
    """Name the attention kernel that one forward pass of this case actually dispatches to."""
    if case.model not in PRESETS:
        return "-"
    training = case.mode == "train"
    model.train(training)
    with _quiet_stderr(), torch.set_grad_enabled(training), _autocast(case), \
            torch.profiler.profile() as prof:
        model(x)
    names = {e.key for e in prof.key_averages()}
    found = [label for op, label in SDPA_KERNELS.items() if op in names]
    if not found and "aten::_softmax" in names:
        found = ["explicit matmul+softmax"]
    return ", ".join(found) or "unknown"


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the profiler backend's C++ start/stop lines (written straight to fd 2)."""
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _autocast(case: Case):
    return torch.autocast(case.device.split(":")[0], dtype=torch.bfloat16, enabled=case.bf16)


def measure(case: Case) -> dict:
    torch.manual_seed(0)
    model = build(case)
    x = torch.randn(case.batch, 3, case.height, case.width, device=case.device)
    if case.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    training = case.mode == "train"
    model.train(training)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9) if training else None

    def step() -> None:
        if not training:
            with torch.no_grad(), _autocast(case):
                model(x)
            return
        with _autocast(case):
            loss = sum(f.float().mean() for f in model(x))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    for _ in range(case.warmup):
        step()
    _sync(case.device)
    times = []
    for _ in range(case.iters):
        start = time.perf_counter()
        step()
        _sync(case.device)
        times.append(time.perf_counter() - start)
    if case.device.startswith("cuda"):
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:  # ru_maxrss is in KiB on Linux
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    best = min(times)
    return {**asdict(case), "img_s": case.batch / best, "latency_ms": best * 1000,
            "peak_mb": peak_mb, "kernel": attention_kernel(model, x, case)}


def _run_isolated(case: Case) -> dict:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (case,))


def format_table(rows: list[dict]) -> str:
    head = ["model", "mode", "attention", "flags", "batch", "input", "img/s", "latency ms",
            "peak MB", "sdpa kernel"]
    lines = []
    for r in rows:
        flags = "+".join(f for f in ("channels_last", "bf16", "compile", "with_cp") if r[f]) or "-"
        lines.append([r["model"], r["mode"], r["attention"] if r["model"] in PRESETS else "-",
                      flags, str(r["batch"]), f"{r['height']}x{r['width']}", f"{r['img_s']:.2f}",
                      f"{r['latency_ms']:.1f}", f"{r['peak_mb']:.0f}", r["kernel"]])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt.format(*head), sep] + [fmt.format(*line) for line in lines])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["hrt_small"],
                   help=f"{sorted(PRESETS)} or any timm model with features_only (hrnet_w32)")
    p.add_argument("--modes", nargs="+", default=["forward", "train"],
                   choices=["forward", "train"])
    p.add_argument("--attention", nargs="+", default=["sdpa"], choices=["sdpa", "math"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--input-size", type=int, nargs="+", default=[224],
                   help="one value (square) or height width")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="NHWC activations (the backbone's default)")
    for flag in ("bf16", "compile", "with-cp"):
        p.add_argument(f"--{flag}", action="store_true")
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    args = p.parse_args(argv)
    if len(args.input_size) not in (1, 2):
        p.error("--input-size takes one value or two (height width)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    height, width = (args.input_size * 2)[:2]
    rows = []
    for model, mode, attention in itertools.product(args.models, args.modes, args.attention):
        if model not in PRESETS and attention != args.attention[0]:
            continue  # attention paths only exist in HRFormer
        case = Case(model, mode, attention, args.channels_last, args.bf16, args.compile,
                    args.with_cp, args.batch_size, height, width, args.device, args.iters,
                    args.warmup)
        rows.append(_run_isolated(case))
        print(f"measured {model} {mode} {attention}", file=sys.stderr, flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    print(format_table(rows))


if __name__ == "__main__":
    main()
