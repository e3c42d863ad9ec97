"""Throughput, latency and peak memory of HRFormer models per backend and precision.

Every measurement runs in a fresh subprocess so that peak memory (CUDA allocator peak, or the
CPU process's peak RSS growth) belongs to that row alone. Rows are measured in interleaved
rounds (`--rounds`; each row keeps its best round), so machine load hits all rows alike: on a
shared machine compare the ratio column, not the absolute numbers.

    python tools/benchmark.py --models cls:hrt_small pose:hrt_small seg:hrt_small \
        --backends eager compile onnxruntime openvino --precisions fp32 bf16 --batch-size 8

Models: see tools/bench_models.py (backbones, `cls:` / `pose:` / `seg:` task models at their
usual sizes, timm CNNs). `x eager fp32` is the eager fp32 row's latency over this row's, for
the same model, mode and attention. Training (`--modes train`) runs on eager and compile.
"""
from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hrformer_common.runtime import export_onnx, make_runner  # noqa: E402
from tools.bench_models import build_model, default_size, is_hrformer  # noqa: E402

SDPA_KERNELS = {  # profiler op name -> what runs
    "aten::_scaled_dot_product_flash_attention_for_cpu": "flash (cpu)",
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "mem-efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_attention_math": "math (fallback)",
}
BACKENDS = ("eager", "compile", "onnxruntime", "openvino")
TORCH_BACKENDS = ("eager", "compile")


@dataclass(frozen=True)
class Case:
    model: str
    mode: str  # "forward" (eval, no grad) or "train" (forward + backward + SGD step)
    attention: str
    backend: str
    precision: str  # "fp32" or "bf16"
    channels_last: bool
    with_cp: bool
    batch: int
    height: int
    width: int
    device: str
    iters: int
    warmup: int


def build(case: Case) -> nn.Module:
    options = {"attention": case.attention, "with_cp": case.with_cp,
               "channels_last": case.channels_last}
    model = build_model(case.model, options).to(case.device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def attention_kernel(model: nn.Module, x: torch.Tensor, case: Case) -> str:
    """Name the attention kernel that one forward pass of this case actually dispatches to."""
    if not is_hrformer(case.model):
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
    return torch.autocast(case.device.split(":")[0], dtype=torch.bfloat16,
                          enabled=case.precision == "bf16")


def _outputs(out) -> list[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else list(out)


def _step_fn(case: Case, model: nn.Module, x: torch.Tensor):
    """One timed step, and what ran (kernel / runtime)."""
    if case.backend in TORCH_BACKENDS:
        training = case.mode == "train"
        model.train(training)
        forward = torch.compile(model) if case.backend == "compile" else model
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9) \
            if training else None

        def step() -> None:
            if not training:
                with torch.no_grad(), _autocast(case):
                    forward(x)
                return
            with _autocast(case):
                loss = sum(f.float().mean() for f in _outputs(forward(x)))
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return step, lambda: attention_kernel(model, x, case)
    model.eval()
    with torch.no_grad():
        names = [f"out{i}" for i in range(len(_outputs(model(x))))]
    path = Path(tempfile.mkdtemp(prefix="bench_onnx_")) / "model.onnx"
    export_onnx(model, path, names, (case.height, case.width), dynamic_hw=False,
                batch=case.batch)
    runner = make_runner(case.backend, case.precision, onnx_path=path)
    return (lambda: runner(x)), runner.describe


def measure(case: Case) -> dict:
    torch.manual_seed(0)
    model = build(case)
    x = torch.randn(case.batch, 3, case.height, case.width, device=case.device)
    if case.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    step, ran = _step_fn(case, model, x)
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
            "peak_mb": peak_mb, "kernel": ran()}


def _run_isolated(case: Case) -> dict:
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (case,))


def _group(r: dict) -> tuple:
    return (r["model"], r["mode"], r["attention"], r["batch"], r["height"], r["width"])


def add_ratios(rows: list[dict]) -> list[dict]:
    """`ratio`: latency of the same model/mode/attention/size in eager fp32 over this row's."""
    base = {_group(r): r["latency_ms"] for r in rows
            if r["backend"] == "eager" and r["precision"] == "fp32"}
    return [{**r, "ratio": base[_group(r)] / r["latency_ms"] if _group(r) in base else None}
            for r in rows]


def format_table(rows: list[dict]) -> str:
    head = ["model", "mode", "attention", "backend", "precision", "flags", "batch", "input",
            "img/s", "latency ms", "x eager fp32", "peak MB", "attention kernel / runtime"]
    lines = []
    for r in add_ratios(rows):
        flags = "+".join(f for f in ("channels_last", "with_cp") if r[f]) or "-"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append([r["model"], r["mode"], r["attention"] if is_hrformer(r["model"]) else "-",
                      r["backend"], r["precision"], flags, str(r["batch"]),
                      f"{r['height']}x{r['width']}", f"{r['img_s']:.2f}",
                      f"{r['latency_ms']:.1f}", ratio, f"{r['peak_mb']:.0f}", r["kernel"]])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([fmt.format(*head), sep] + [fmt.format(*line) for line in lines])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["hrt_small"],
                   help="hrt_small, cls:hrt_small, pose:hrt_small, seg:hrt_small, hrnet_w32, ...")
    p.add_argument("--modes", nargs="+", default=["forward", "train"],
                   choices=["forward", "train"])
    p.add_argument("--attention", nargs="+", default=["sdpa"], choices=["sdpa", "math"])
    p.add_argument("--backends", nargs="+", default=["eager"], choices=BACKENDS)
    p.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--input-size", type=int, nargs="+", default=None,
                   help="one value (square) or height width (default: the task's usual "
                        "size, 224 for backbones)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="NHWC activations (the backbone's default)")
    p.add_argument("--with-cp", action="store_true")
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds per row")
    args = p.parse_args(argv)
    if args.input_size is not None and len(args.input_size) not in (1, 2):
        p.error("--input-size takes one value or two (height width)")
    return args


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN has bf16 kernels for this CPU (AVX512-BF16 / AMX); elsewhere PyTorch
    emulates bf16, 10-30x slower than fp32, and the rows would measure the emulation."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def cases(args: argparse.Namespace, native_bf16: bool | None = None) -> list[Case]:
    if native_bf16 is None:
        native_bf16 = args.device != "cpu" or cpu_has_native_bf16()
    out = []
    for model, mode, attention, backend, precision in itertools.product(
            args.models, args.modes, args.attention, args.backends, args.precisions):
        if not is_hrformer(model) and attention != args.attention[0]:
            continue  # attention paths only exist in HRFormer
        if mode == "train" and backend not in TORCH_BACKENDS:
            continue  # the runtimes do inference only
        if backend == "onnxruntime" and precision != "fp32":
            continue  # ONNX Runtime's CPU kernels are fp32
        if backend not in TORCH_BACKENDS and args.device != "cpu":
            continue  # the runtimes run on the CPU here
        if backend in TORCH_BACKENDS and precision == "bf16" and not native_bf16:
            print(f"skipped {model} {mode} {backend} bf16: this CPU has no native bf16 "
                  "(PyTorch would emulate it)", file=sys.stderr)
            continue
        size = args.input_size or default_size(model) or (224,)
        height, width = (list(size) * 2)[:2]
        out.append(Case(model, mode, attention, backend, precision, args.channels_last,
                        args.with_cp, args.batch_size, height, width, args.device,
                        args.iters, args.warmup))
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    todo = cases(args)
    best: dict[Case, dict] = {}
    for round_ in range(args.rounds):
        for case in todo:
            row = _run_isolated(case)
            if case not in best or row["latency_ms"] < best[case]["latency_ms"]:
                best[case] = row
            print(f"round {round_ + 1}/{args.rounds}: {case.model} {case.mode} {case.backend} "
                  f"{case.precision} {row['latency_ms']:.1f} ms", file=sys.stderr, flush=True)
    rows = [best[c] for c in todo]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
          f", best of {args.rounds} interleaved round(s) x {args.iters} iterations")
    print(format_table(rows))
    return rows


if __name__ == "__main__":
    main()
