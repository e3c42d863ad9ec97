"""One benchmark row: a task model built, one step timed, its peak memory and what ran (the
attention kernel, or the runtime), in a process of its own (torch and the standard library;
ONNX Runtime / OpenVINO through `runners.py`, only when chosen).

A fresh process per row keeps the peak memory (CUDA allocator peak, or the process's peak RSS
growth on the CPU) that row's alone.
"""
from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn

from .export import export_onnx
from .runners import make_runner

SDPA_KERNELS = {  # profiler op name -> what runs
    "aten::_scaled_dot_product_flash_attention_for_cpu": "flash (cpu)",
    "aten::_scaled_dot_product_flash_attention": "flash",
    "aten::_scaled_dot_product_efficient_attention": "mem-efficient",
    "aten::_scaled_dot_product_cudnn_attention": "cudnn",
    "aten::_scaled_dot_product_attention_math": "math (fallback)",
}
TORCH_BACKENDS = ("eager", "compile")
RUNTIME_BACKENDS = ("onnxruntime", "openvino")

Prepare = Callable[[nn.Module], nn.Module]


@dataclass(frozen=True)
class TaskModel:
    """A model a task's tools time and count: `build(options)` makes it (options: `attention`
    "sdpa" | "math" and `with_cp`, which only HRFormer models take: `transformer`), and
    `input_size` is its usual (height, width). `build` must be a module-level function (or a
    functools.partial of one): it is sent to the measuring process."""
    build: Callable[[Mapping[str, Any]], nn.Module]
    input_size: tuple[int, int]
    transformer: bool = True


@dataclass(frozen=True)
class Case:
    task: str
    model: str
    mode: str  # "forward" (eval, no grad) or "train" (forward + backward + SGD step)
    attention: str
    backend: str  # TORCH_BACKENDS or RUNTIME_BACKENDS
    precision: str  # "fp32" or "bf16"
    channels_last: bool
    with_cp: bool
    batch: int
    height: int
    width: int
    device: str
    iters: int
    warmup: int
    threads: int


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _autocast(case: Case):
    return torch.autocast(case.device.split(":")[0], dtype=torch.bfloat16,
                          enabled=case.precision == "bf16")


def outputs_of(out) -> list[torch.Tensor]:
    """A model's output as a list of tensors (one tensor, or a tuple / list of them)."""
    return [out] if isinstance(out, torch.Tensor) else list(out)


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


def kernels_run(fn: Callable[[], object]) -> str:
    """The attention kernels one call of `fn` dispatches to (profiled)."""
    with _quiet_stderr(), torch.profiler.profile() as prof:
        fn()
    names = {e.key for e in prof.key_averages()}
    found = [label for op, label in SDPA_KERNELS.items() if op in names]
    if not found and "aten::_softmax" in names:
        found = ["explicit matmul+softmax"]
    return ", ".join(found) or "unknown"


def _torch_step(case: Case, model: nn.Module, x: torch.Tensor) -> tuple[Callable, Callable]:
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
            loss = sum(f.float().mean() for f in outputs_of(forward(x)))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def attention_kernel() -> str:
        model.train(training)
        with torch.set_grad_enabled(training), _autocast(case):
            return kernels_run(lambda: model(x))
    return step, attention_kernel


def _runtime_step(case: Case, model: nn.Module, x: torch.Tensor,
                  folder: Path) -> tuple[Callable, Callable]:
    model.eval()
    with torch.no_grad():
        names = [f"out{i}" for i in range(len(outputs_of(model(x))))]
    path = folder / "model.onnx"
    export_onnx(model, path, names, (case.height, case.width), dynamic_hw=False,
                batch=case.batch)
    runner = make_runner(case.backend, case.precision, onnx_path=path, threads=case.threads)
    return (lambda: runner(x)), runner.describe


def measure(case: Case, spec: TaskModel, prepare: Prepare | None = None) -> dict:
    """Time `case` here (torch's thread count restored afterwards): best of `iters` steps
    after `warmup`; `prepare(model)` is applied to inference rows (forward mode, and the
    model the runtimes export)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(case.threads)
    try:
        return _measure(case, spec, prepare)
    finally:
        torch.set_num_threads(threads)


def _measure(case: Case, spec: TaskModel, prepare: Prepare | None) -> dict:
    torch.manual_seed(0)
    model = spec.build({"attention": case.attention, "with_cp": case.with_cp})
    if case.mode == "forward" and prepare is not None:
        model = prepare(model.eval())
    model = model.to(case.device)
    x = torch.randn(case.batch, 3, case.height, case.width, device=case.device)
    if case.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    with tempfile.TemporaryDirectory(prefix="bench_onnx_") as folder:
        if case.backend in TORCH_BACKENDS:
            step, ran = _torch_step(case, model, x)
        else:
            step, ran = _runtime_step(case, model, x, Path(folder))
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
        what = ran() if spec.transformer or case.backend not in TORCH_BACKENDS else "-"
    best = min(times)
    return {**asdict(case), "attention": case.attention if spec.transformer else "-",
            "img_s": case.batch / best, "latency_ms": best * 1000, "peak_mb": peak_mb,
            "kernel": what}


def measure_isolated(case: Case, spec: TaskModel, prepare: Prepare | None = None) -> dict:
    """`measure` in a fresh (spawned) process."""
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (case, spec, prepare))
