"""GPU check: AMP training steps per task, SDPA kernels, a compiled step, DDP, the benchmark.

    python tools/gpu_check.py            # or `make gpu-check` from the repository root

On CUDA: one training step per task model (cls / pose / seg HRFormer-S) in fp16 with a
GradScaler and in bf16; the SDPA kernel chosen for the head dims of T, S and B (18, 32, 39;
padded to a multiple of 8 in half precision); a torch.compile'd training step; a
one-process NCCL DDP step; then the benchmark table. Without CUDA it says so and runs the CPU
equivalents on small sizes (gloo instead of NCCL; the compiled step on one transformer block,
since compiling a whole training step takes many minutes on a CPU) and exits 0 when they pass.
Any failed check gives exit status 1.
"""
from __future__ import annotations

import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from models.hrformer import HRFormerOptions, LocalWindowAttention, TransformerBlock  # noqa: E402
from tools import benchmark  # noqa: E402
from tools.bench_models import TASK_SIZES, build_model  # noqa: E402

HEAD_DIMS = {"T": 18, "S": 32, "B": 39}


def task_loss(task: str, out) -> Tensor:
    """A task-shaped loss on random targets (cross-entropy, heatmap MSE, seg CE + 0.4 aux)."""
    g = torch.Generator().manual_seed(0)
    if task == "cls":
        return F.cross_entropy(out.float(), torch.randint(0, out.shape[1], (out.shape[0],),
                                                          generator=g).to(out.device))
    if task == "pose":
        return F.mse_loss(out.float(), torch.rand(out.shape, generator=g).to(out.device))
    out_aux, main = out
    labels = torch.randint(0, main.shape[1], (main.shape[0], *main.shape[2:]),
                           generator=g).to(main.device)
    return F.cross_entropy(main.float(), labels) + 0.4 * F.cross_entropy(out_aux.float(), labels)


def train_step(model: nn.Module, x: Tensor, loss_fn: Callable, dtype: torch.dtype | None,
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
            return float(loss), skipped
    raise RuntimeError(f"no parameter changed in {tries} steps (the GradScaler found "
                       f"non-finite gradients each time; scale now {scaler.get_scale()})")


def sdpa_kernel(head_dim: int, device: torch.device, dtype: torch.dtype) -> str:
    heads = 2
    attn = LocalWindowAttention(heads * head_dim, heads, 7, HRFormerOptions()).to(device).eval()
    x = torch.randn(2, 14, 14, heads * head_dim, device=device, dtype=dtype)
    attn = attn.to(dtype)
    with torch.no_grad(), torch.profiler.profile() as prof:
        attn(x)
    names = {e.key for e in prof.key_averages()}
    found = [label for op, label in benchmark.SDPA_KERNELS.items() if op in names]
    padded = head_dim + (-head_dim % 8) if device.type == "cuda" and dtype != torch.float32 \
        else head_dim
    return f"head dim {head_dim} (run as {padded}): {', '.join(found) or 'explicit softmax'}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ddp_step(device: torch.device, x: Tensor) -> str:
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0,
                            world_size=1)
    try:
        model = build_model("cls:hrt_tiny", {}).to(device)
        ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index or 0] if device.type == "cuda" else None)
        loss, _ = train_step(ddp, x, lambda out: task_loss("cls", out), None, device)
        return f"{backend}, 1 process, loss {loss:.3f}"
    finally:
        dist.destroy_process_group()


def compiled_step(device: torch.device, size: tuple[int, int]) -> str:
    if device.type == "cuda":
        model = build_model("cls:hrt_tiny", {}).to(device)
        x = torch.randn(2, 3, *size, device=device)
        loss_fn = lambda out: task_loss("cls", out)  # noqa: E731
        what = "cls:hrt_tiny"
    else:
        model = TransformerBlock(32, 2, 7, 4.0, 0.0, HRFormerOptions())
        x = torch.randn(2, 32, 14, 14)
        loss_fn = lambda out: out.float().square().mean()  # noqa: E731
        what = "one transformer block (CPU)"
    compiled = torch.compile(model)
    start = time.perf_counter()
    train_step(compiled, x, loss_fn, None, device)
    first = time.perf_counter() - start
    start = time.perf_counter()
    train_step(compiled, x, loss_fn, None, device)
    return f"{what}: first step {first:.1f} s (compiling), next {time.perf_counter() - start:.3f} s"


def run_checks(device: torch.device) -> list[tuple[str, str, bool]]:
    cuda = device.type == "cuda"
    results = []

    def check(name: str, fn: Callable[[], str]) -> None:
        try:
            results.append((name, fn(), True))
        except Exception as err:  # report every failure, then go on with the other checks
            traceback.print_exc()
            results.append((name, f"FAILED: {type(err).__name__}: {err}", False))
        print(f"{name}: {results[-1][1]}", flush=True)

    variant = {"cls": "hrt_small", "pose": "hrt_small", "seg": "hrt_small"} if cuda else \
        {"cls": "hrt_tiny", "pose": "hrt_tiny", "seg": "hrt_small"}
    for task in ("cls", "pose", "seg"):
        size = TASK_SIZES[task] if cuda else (64, 64)
        for label, dtype in (("fp16 + GradScaler", torch.float16), ("bf16", torch.bfloat16)):
            def step(task=task, size=size, dtype=dtype) -> str:
                torch.manual_seed(0)
                model = build_model(f"{task}:{variant[task]}", {}).to(device)
                x = torch.randn(2, 3, *size, device=device)
                loss, skipped = train_step(model, x, lambda out: task_loss(task, out), dtype,
                                           device)
                scaler = f", {skipped} overflow steps skipped" if dtype == torch.float16 else ""
                return f"{task}:{variant[task]} {size[0]}x{size[1]}, loss {loss:.3f}{scaler}"
            check(f"{task} train step {label}", step)
    half = torch.bfloat16 if cuda else torch.float32
    for name, dim in HEAD_DIMS.items():
        check(f"SDPA kernel HRFormer-{name} ({half})",
              lambda dim=dim: sdpa_kernel(dim, device, half))
    check("compiled training step", lambda: compiled_step(device, (224, 224) if cuda else (32, 32)))
    check("DDP step", lambda: ddp_step(device, torch.randn(2, 3, 64, 64, device=device)))
    return results


def main(argv: list[str] | None = None) -> int:
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if cuda:
        print(f"CUDA device: {torch.cuda.get_device_name(0)}")
    else:
        print("no CUDA device: running the CPU equivalents (small sizes, gloo, bf16/fp16 "
              "autocast on the CPU)")
    results = run_checks(device)
    bench = ["--models", "cls:hrt_small", "pose:hrt_small", "seg:hrt_small", "--backends",
             "eager", "compile", "--precisions", "fp32", "bf16", "--batch-size", "8"] if cuda \
        else ["--models", "cls:hrt_tiny", "--modes", "forward", "--backends", "eager",
              "onnxruntime", "--batch-size", "1", "--input-size", "64", "--iters", "1",
              "--warmup", "0"]
    try:
        benchmark.main(bench)
        results.append(("benchmark", "table above", True))
    except Exception as err:
        traceback.print_exc()
        results.append(("benchmark", f"FAILED: {err}", False))
    print("\n| check | result |\n|---|---|")
    for name, text, ok in results:
        print(f"| {name} | {text} |")
    failed = [name for name, _, ok in results if not ok]
    print(f"gpu-check: {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}"
          f" ({'CUDA' if cuda else 'CPU equivalents, no CUDA'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
