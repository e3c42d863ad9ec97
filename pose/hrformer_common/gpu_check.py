"""GPU check of a task's model: AMP training steps, a compiled step, DDP, the benchmark.

Each task's `tools/gpu_check.py` declares its model, loss and CPU stand-in in a `GpuCheck`;
this file does the rest:

    python tools/gpu_check.py [--json FILE] [--bench-json FILE]

On CUDA: one training step of the task model in fp16 with a GradScaler and in bf16, a
torch.compile'd training step, a one-process NCCL DDP step, then the task's benchmark rows
(eager and compile, fp32 and bf16, batch 8). The tool that passes the backbone core (cls)
also reports the SDPA kernel chosen for the head dims of T, S and B (18, 32, 39; padded to a
multiple of 8 in half precision). Without CUDA it says so and runs the CPU equivalents on a
small model and size (gloo instead of NCCL; the compiled step on one transformer block of
the core, since compiling a whole training step takes many minutes on a CPU). Every check
runs; the exit status is 1 when one failed.
"""
from __future__ import annotations

import argparse
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Callable, Sequence

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .benchmark import Bench, cpu_line
from .tables import destination_problem, write_rows
from .timing import kernels_run

HEAD_DIMS = {"T": 18, "S": 32, "B": 39}
Loss = Callable[[object], Tensor]


def train_step(model: nn.Module, x: Tensor, loss_fn: Loss, dtype: torch.dtype | None,
               device: torch.device, tries: int = 12) -> tuple[float, int]:
    """SGD steps under autocast (GradScaler for fp16) until one updates the weights: the
    scaler skips steps whose gradients overflow while it lowers its scale. Returns the loss and
    the number of skipped steps; a non-finite loss or no update after `tries` raise."""
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    before = [p.detach().clone() for p in model.parameters()]
    for skipped in range(tries):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.float32,
                            enabled=dtype is not None):
            loss = loss_fn(model(x))
        if not torch.isfinite(loss):
            raise RuntimeError(f"loss is {loss.item()}")
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if any(not torch.equal(a, p) for a, p in zip(before, model.parameters())):
            return float(loss.detach()), skipped
    raise RuntimeError(f"no parameter changed in {tries} steps (the GradScaler found "
                       f"non-finite gradients each time; scale now {scaler.get_scale()})")


def sdpa_kernel(core: ModuleType, head_dim: int, device: torch.device,
                dtype: torch.dtype) -> str:
    """The attention kernel a window attention of `core` with this head dim runs."""
    heads = 2
    attn = core.LocalWindowAttention(heads * head_dim, heads, 7, core.HRFormerOptions())
    attn = attn.to(device=device, dtype=dtype).eval()
    x = torch.randn(2, 14, 14, heads * head_dim, device=device, dtype=dtype)
    with torch.no_grad():
        found = kernels_run(lambda: attn(x))
    padded = head_dim + (-head_dim % 8) if device.type == "cuda" and dtype != torch.float32 \
        else head_dim
    return f"head dim {head_dim} (run as {padded}): {found}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_step(build: Callable[[], nn.Module], x: Tensor, loss_fn: Loss,
             device: torch.device) -> str:
    """One training step of `build()` under a one-process DistributedDataParallel."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0,
                            world_size=1)
    try:
        model = build().to(device)
        ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index or 0] if device.type == "cuda" else None)
        loss, _ = train_step(ddp, x, loss_fn, None, device)
        return f"{backend}, 1 process, loss {loss:.3f}"
    finally:
        dist.destroy_process_group()


def compiled_step(model: nn.Module, x: Tensor, loss_fn: Loss, device: torch.device) -> str:
    """Two training steps of torch.compile(model): the first compiles."""
    compiled = torch.compile(model)
    start = time.perf_counter()
    train_step(compiled, x, loss_fn, None, device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    train_step(compiled, x, loss_fn, None, device)
    return f"first step {first:.1f} s (compiling), next {time.perf_counter() - start:.3f} s"


class Checks:
    """Runs named checks, keeps going after a failure, and records one row each."""

    def __init__(self, task: str) -> None:
        self.task = task
        self.rows: list[dict] = []

    def __call__(self, name: str, fn: Callable[[], str]) -> None:
        try:
            result, ok = fn(), True
        except Exception as err:  # report every failure, then go on with the other checks
            traceback.print_exc()
            result, ok = f"FAILED: {type(err).__name__}: {err}", False
        self.rows.append({"task": self.task, "check": name, "result": result, "ok": ok})
        print(f"{self.task} {name}: {result}", file=sys.stderr, flush=True)


def format_table(rows: Sequence[dict]) -> str:
    lines = ["| task | check | result |", "|---|---|---|"]
    lines += [f"| {r['task']} | {r['check']} | {r['result']} |" for r in rows]
    failed = [f"{r['task']} {r['check']}" for r in rows if not r["ok"]]
    lines.append(f"gpu-check: {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
    return "\n".join(lines)


def environment(device: torch.device) -> list[str]:
    where = f"CUDA device: {torch.cuda.get_device_name(0)}" if device.type == "cuda" else \
        "no CUDA: the CPU equivalents (small model and size, gloo, autocast on the CPU)"
    return [where, cpu_line()]


@dataclass(frozen=True)
class GpuCheck:
    """One task's GPU check: `model` (a name in the benchmark's models) at its size on CUDA;
    on the CPU `small` (another of them) at `small_size`; `loss` a task-shaped loss on random
    targets; `core` (the backbone core's module) adds the core's checks: SDPA kernels, and the
    CPU compiled step."""
    bench: Bench
    model: str
    small: str
    small_size: tuple[int, int]
    loss: Loss
    core: ModuleType | None = None

    def _name(self, device: torch.device) -> str:
        return self.model if device.type == "cuda" else self.small

    def _build(self, device: torch.device) -> nn.Module:
        torch.manual_seed(0)
        return self.bench.models[self._name(device)].build({}).to(device)

    def _input(self, device: torch.device) -> Tensor:
        size = self.bench.models[self.model].input_size if device.type == "cuda" \
            else self.small_size
        return torch.randn(2, 3, *size, device=device)

    def _compiled(self, device: torch.device) -> str:
        if device.type == "cuda":
            return f"{self.model}: " + compiled_step(self._build(device), self._input(device),
                                                     self.loss, device)
        block = self.core.TransformerBlock(32, 2, 7, 4.0, 0.0, self.core.HRFormerOptions())
        x = torch.randn(2, 32, 14, 14)
        return "one transformer block (CPU): " + compiled_step(
            block, x, lambda out: out.float().square().mean(), device)

    def amp_step(self, dtype: torch.dtype, device: torch.device) -> str:
        x = self._input(device)
        loss, skipped = train_step(self._build(device), x, self.loss, dtype, device)
        scaler = f", {skipped} overflow steps skipped" if dtype == torch.float16 else ""
        return f"{self._name(device)} {x.shape[2]}x{x.shape[3]}, loss {loss:.3f}{scaler}"

    def bench_args(self, device: torch.device) -> list[str]:
        if device.type == "cuda":
            return ["--models", self.model, "--backends", "eager", "compile", "--precisions",
                    "fp32", "bf16", "--batch-size", "8"]
        return ["--models", self.small, "--modes", "forward", "--backends", "eager",
                "onnxruntime", "--batch-size", "1", "--input-size", *map(str, self.small_size),
                "--iters", "1", "--warmup", "0"]

    def checks(self, device: torch.device, bench_json: Path | None = None) -> list[dict]:
        check = Checks(self.bench.task)
        for label, dtype in (("fp16 + GradScaler", torch.float16), ("bf16", torch.bfloat16)):
            check(f"train step {label}", lambda dtype=dtype: self.amp_step(dtype, device))
        if self.core is not None:
            half = torch.bfloat16 if device.type == "cuda" else torch.float32
            for name, dim in HEAD_DIMS.items():
                check(f"SDPA kernel HRFormer-{name} ({half})",
                      lambda dim=dim: sdpa_kernel(self.core, dim, device, half))
        if device.type == "cuda" or self.core is not None:
            check("compiled training step", lambda: self._compiled(device))
        check("DDP step", lambda: ddp_step(lambda: self._build(device), self._input(device),
                                           self.loss, device))
        json_args = ["--json", str(bench_json)] if bench_json else []
        check("benchmark", lambda: f"{len(self.bench.run(self.bench_args(device) + json_args))}"
                                   " rows (speed table above)")
        return check.rows

    def run(self, argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(description=f"{self.bench.task}: GPU check")
        parser.add_argument("--json", type=Path, help="also write the check rows here")
        parser.add_argument("--bench-json", type=Path, help="and the benchmark's rows here")
        args = parser.parse_args(argv)
        for flag, path in (("--json", args.json), ("--bench-json", args.bench_json)):
            problem = destination_problem(path)
            if problem:
                parser.error(f"{flag} {problem}")
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        env = environment(device)
        print(env[0], file=sys.stderr, flush=True)
        rows = self.checks(device, args.bench_json)
        print("\n".join(env + [format_table(rows)]))
        if args.json:
            write_rows(args.json, "checks", rows, env)
        return 0 if all(r["ok"] for r in rows) else 1
