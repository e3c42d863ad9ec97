"""Throughput, latency and peak memory of a task's models per backend and precision.

Each task's `tools/benchmark.py` declares its models (`timing.TaskModel`: builder, usual input
size) in a `Bench`; this file does the rest:

    python tools/benchmark.py [--models NAME ...] [--modes forward train]
        [--backends eager compile onnxruntime openvino] [--precisions fp32 bf16]
        [--batch-size N] [--input-size H [W]] [--rounds R] [--iters I] [--json FILE]

Every row is measured in a fresh process (`timing.py`), in interleaved rounds (`--rounds`;
each row keeps its best round), so machine load hits all rows alike: on a shared machine
compare the ratio column (`x eager fp32`: the eager fp32 row's latency over this row's, for
the same task, model, mode and attention), not the absolute numbers. Training (`--modes
train`) runs on eager and compile; the runtimes run inference on the CPU. The table starts
with the machine: CPU model and its AVX2 / AVX-512 / avx512_bf16 / AMX flags, torch, threads.
"""
from __future__ import annotations

import argparse
import itertools
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import torch

from .cli import positive_int
from .tables import destination_problem, write_rows
from .timing import (RUNTIME_BACKENDS, TORCH_BACKENDS, Case, Prepare, TaskModel,
                     measure_isolated)

BACKENDS = TORCH_BACKENDS + RUNTIME_BACKENDS
# what the table calls a CPU feature -> its /proc/cpuinfo flag
CPU_FEATURES = {"AVX2": "avx2", "AVX-512": "avx512f", "avx512_bf16": "avx512_bf16",
                "AMX": "amx_bf16"}


def _cpu_fields(text: str) -> dict[str, str]:
    """'key : value' lines (/proc/cpuinfo or lscpu) -> {lower-case key: first value}."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    return fields


def _cpu_text() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        return cpuinfo.read_text()
    try:
        return subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return ""


def cpu_line(text: str | None = None) -> str:
    """'CPU: <model> (AVX2 yes, AVX-512 no, ...)' from /proc/cpuinfo (else lscpu), or `text`."""
    fields = _cpu_fields(_cpu_text() if text is None else text)
    name = fields.get("model name") or platform.processor() or "unknown"
    flags = fields.get("flags")
    if flags is None:
        return f"CPU: {name} (flags unknown)"
    found = set(flags.split())
    features = ", ".join(f"{label} {'yes' if flag in found else 'no'}"
                         for label, flag in CPU_FEATURES.items())
    return f"CPU: {name} ({features})"


def environment(device: str, threads: int, rounds: int, iters: int) -> list[str]:
    """The lines printed above a speed table: the CPU, torch, threads, device, repetitions."""
    gpu = f" ({torch.cuda.get_device_name(0)})" if device.startswith("cuda") else ""
    return [cpu_line(), f"torch {torch.__version__}, {threads} threads, device {device}{gpu}; "
                        f"best of {rounds} interleaved round(s) x {iters} iterations"]


def _group(r: dict) -> tuple:
    return (r["task"], r["model"], r["mode"], r["attention"], r["batch"], r["height"],
            r["width"])


def add_ratios(rows: Sequence[dict]) -> list[dict]:
    """`ratio`: latency of the same task/model/mode/attention/size in eager fp32 over this
    row's (None where no such row was measured)."""
    base = {_group(r): r["latency_ms"] for r in rows
            if r["backend"] == "eager" and r["precision"] == "fp32"}
    return [{**r, "ratio": base[_group(r)] / r["latency_ms"] if _group(r) in base else None}
            for r in rows]


def format_table(rows: Sequence[dict]) -> str:
    head = ["task", "model", "mode", "attention", "backend", "precision", "flags", "batch",
            "input", "img/s", "latency ms", "x eager fp32", "peak MB",
            "attention kernel / runtime"]
    lines = []
    for r in add_ratios(rows):
        flags = "+".join(f for f in ("channels_last", "with_cp") if r[f]) or "-"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append([r["task"], r["model"], r["mode"], r["attention"], r["backend"],
                      r["precision"], flags, str(r["batch"]), f"{r['height']}x{r['width']}",
                      f"{r['img_s']:.2f}", f"{r['latency_ms']:.1f}", ratio,
                      f"{r['peak_mb']:.0f}", r["kernel"]])
    return aligned(head, lines)


def aligned(head: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """A plain-text table: columns padded to their widest cell, ' | ' between them."""
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(head)]
    fmt = " | ".join(f"{{:<{w}}}" for w in widths)
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join(text.rstrip() for text in [fmt.format(*head), sep]
                     + [fmt.format(*line) for line in lines])


def cpu_has_native_bf16() -> bool:
    """Whether oneDNN has bf16 kernels for this CPU (AVX512-BF16 / AMX); elsewhere PyTorch
    emulates bf16, 10-30x slower than fp32, and the rows would measure the emulation."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: expected 0 or more")
    return value


@dataclass(frozen=True)
class Bench:
    """One task's benchmark command: its models by name, those timed by default, and the
    `prepare(model)` applied to inference rows (e.g. folding for inference; default none)."""
    task: str
    models: Mapping[str, TaskModel]
    defaults: Sequence[str]
    prepare: Prepare | None = None

    def parser(self) -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(
            description=f"{self.task}: speed of the task's models per backend and precision")
        p.add_argument("--models", nargs="+", default=list(self.defaults),
                       choices=sorted(self.models), metavar="NAME",
                       help=f"default: {' '.join(self.defaults)}; any of "
                            f"{', '.join(sorted(self.models))}")
        p.add_argument("--modes", nargs="+", default=["forward", "train"],
                       choices=["forward", "train"])
        p.add_argument("--attention", nargs="+", default=["sdpa"], choices=["sdpa", "math"])
        p.add_argument("--backends", nargs="+", default=["eager"], choices=BACKENDS)
        p.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
        p.add_argument("--batch-size", type=positive_int, default=8)
        p.add_argument("--input-size", type=positive_int, nargs="+", default=None,
                       help="one value (square) or height width (default: each model's own)")
        p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
        p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                       help="NHWC activations (the backbone's default)")
        p.add_argument("--with-cp", action="store_true")
        p.add_argument("--iters", type=positive_int, default=3)
        p.add_argument("--warmup", type=_non_negative, default=1)
        p.add_argument("--rounds", type=positive_int, default=1, help="interleaved rounds per row")
        p.add_argument("--threads", type=positive_int, default=torch.get_num_threads(),
                       help="CPU threads of torch and the runtimes (default: torch's)")
        p.add_argument("--json", type=Path, help="also write the rows here (for `python -m "
                                                 "hrformer_common.tables`)")
        return p

    def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        p = self.parser()
        args = p.parse_args(argv)
        if args.input_size is not None and len(args.input_size) not in (1, 2):
            p.error("--input-size takes one value or two (height width)")
        if args.device.split(":")[0] not in ("cpu", "cuda"):
            p.error(f"--device {args.device}: expected cpu, cuda or cuda:N")
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            p.error(f"--device {args.device}: this machine has no CUDA device")
        problem = destination_problem(args.json)
        if problem:
            p.error(f"--json {problem}")
        return args

    def cases(self, args: argparse.Namespace, native_bf16: bool | None = None) -> list[Case]:
        """The rows to measure; what a backend cannot do is left out (bf16 torch rows on a CPU
        without native bf16 with a message on stderr)."""
        if native_bf16 is None:
            native_bf16 = args.device != "cpu" or cpu_has_native_bf16()
        out = []
        for name, mode, attention, backend, precision in itertools.product(
                args.models, args.modes, args.attention, args.backends, args.precisions):
            spec = self.models[name]
            if not spec.transformer and attention != args.attention[0]:
                continue  # attention paths only exist in HRFormer
            if mode == "train" and backend not in TORCH_BACKENDS:
                continue  # the runtimes do inference only
            if backend == "onnxruntime" and precision != "fp32":
                continue  # ONNX Runtime's CPU kernels are fp32
            if backend not in TORCH_BACKENDS and args.device != "cpu":
                continue  # the runtimes run on the CPU here
            if backend in TORCH_BACKENDS and precision == "bf16" and not native_bf16:
                print(f"skipped {self.task} {name} {mode} {backend} bf16: this CPU has no "
                      "native bf16 (PyTorch would emulate it)", file=sys.stderr)
                continue
            height, width = (list(args.input_size) * 2)[:2] if args.input_size \
                else spec.input_size
            out.append(Case(self.task, name, mode, attention, backend, precision,
                            args.channels_last, args.with_cp, args.batch_size, height, width,
                            args.device, args.iters, args.warmup, args.threads))
        return out

    def measure(self, cases: Sequence[Case], rounds: int) -> list[dict]:
        """Each case in its own process, `rounds` times interleaved; the best round per row."""
        best: dict[Case, dict] = {}
        for round_ in range(rounds):
            for case in cases:
                row = measure_isolated(case, self.models[case.model], self.prepare)
                if case not in best or row["latency_ms"] < best[case]["latency_ms"]:
                    best[case] = row
                print(f"round {round_ + 1}/{rounds}: {case.task} {case.model} {case.mode} "
                      f"{case.backend} {case.precision} {row['latency_ms']:.1f} ms",
                      file=sys.stderr, flush=True)
        return [best[c] for c in cases]

    def run(self, argv: Sequence[str] | None = None) -> list[dict]:
        """Parse, measure, print the table (and write --json); returns the rows."""
        args = self.parse_args(argv)
        rows = self.measure(self.cases(args), args.rounds)
        env = environment(args.device, args.threads, args.rounds, args.iters)
        print("\n".join(env + [format_table(rows)]))
        if args.json:
            write_rows(args.json, "speed", rows, env)
        return rows
