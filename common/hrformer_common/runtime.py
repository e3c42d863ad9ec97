"""Run an HRFormer model on PyTorch, ONNX Runtime or OpenVINO, in fp32 or bf16.

Framework-free (torch, numpy and the standard library; onnxruntime / openvino are imported
only when chosen); each subproject's export and predict tools are thin adapters around it.

A model to run or export is an `nn.Module` whose forward returns one tensor or a tuple of
tensors, named by `output_names` in that order.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from dataclasses import replace
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .atomic import atomic_path
from .model_card import ModelCard, check_card, window_sizes, write_card
from .tolerance import difference

BACKENDS = ("torch", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16")
OPSET = 18
STEM_STRIDE, LEVELS = 4, 4


def _level_sizes(size: int) -> list[int]:
    """Branch resolutions for an input side: two stride-2 convs, then one halving per level."""
    sizes = [-(-size // STEM_STRIDE)]
    for _ in range(LEVELS - 1):
        sizes.append(-(-sizes[-1] // 2))
    return sizes


def generic_trace_size(windows: Sequence[int], minimum: int = 32) -> int:
    """The smallest input side >= minimum at which every branch needs window padding and every
    upsampled branch needs a resize (all branch sizes odd, none a multiple of a window).

    The tracer records Python branches as taken; at such a size it takes all of them, so the
    exported graph pads and resizes where needed and is valid for any height and width.
    """
    size = minimum
    while True:
        levels = _level_sizes(size)
        if all(r % 2 == 1 and all(r % w for w in windows) for r in levels):
            return size
        size += 1


def _dynamic_axes(prefix: str, rank: int, dynamic_hw: bool) -> dict[int, str]:
    """Batch is dynamic; so are the spatial axes of maps (rank 4) with `dynamic_hw`."""
    axes = {0: "batch"}
    if dynamic_hw and rank == 4:
        axes.update({2: f"{prefix}height", 3: f"{prefix}width"})
    return axes


def export_onnx(model: nn.Module, path: str | Path, output_names: Sequence[str],
                input_size: tuple[int, int], dynamic_hw: bool = True,
                batch: int = 1, card: ModelCard | None = None) -> tuple[int, int]:
    """Export `model` (eval mode) to ONNX with a dynamic batch (and dynamic height / width).

    With `dynamic_hw` the trace runs at `generic_trace_size` (see there) instead of
    `input_size`. `card` goes into the file's metadata (`model_card.py`), with the traced
    size when it is fixed. Written atomically (`atomic.py`). Returns the traced (height, width).
    """
    if dynamic_hw:
        side = generic_trace_size(window_sizes(model))
        traced = (side, side + 2)  # different sides, same branch sizes: no H/W confusion
    else:
        traced = tuple(input_size)
    x = torch.randn(batch, 3, *traced, generator=torch.Generator().manual_seed(0))
    model.eval()
    with torch.no_grad():
        outputs = model(x)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    if len(outputs) != len(output_names):
        raise ValueError(f"the model returns {len(outputs)} outputs, but {len(output_names)} "
                         f"names were given: {list(output_names)}")
    dynamic = {"input": _dynamic_axes("", 4, dynamic_hw)}
    dynamic.update({name: _dynamic_axes(f"{name}_", out.dim(), dynamic_hw)
                    for name, out in zip(output_names, outputs)})
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # branches: see above
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter
        torch.onnx.export(model, (x,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=list(output_names),
                          dynamic_axes=dynamic)
        if card is not None:
            fixed = None if dynamic_hw else f"{traced[0]}x{traced[1]}"
            write_card(tmp, replace(card, input_size=fixed))
    return traced


class Runner:
    """`runner(x)` -> {output name: float32 tensor}; x is an NCHW float tensor."""

    backend: str
    precision: str
    output_names: tuple[str, ...]

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        raise NotImplementedError

    def describe(self) -> str:
        """What actually runs (backend, precision the runtime chose, threads)."""
        raise NotImplementedError


class TorchRunner(Runner):
    def __init__(self, model: nn.Module, output_names: Sequence[str], precision: str,
                 compile: bool = False) -> None:
        self.backend, self.precision = "torch", precision
        self.output_names = tuple(output_names)
        self.model = model.eval()
        self.compiled = compile
        self._forward: Callable = torch.compile(self.model) if compile else self.model

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        device = next(self.model.parameters()).device
        autocast = torch.autocast(device.type, dtype=torch.bfloat16) \
            if self.precision == "bf16" else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            out = self._forward(x.to(device))
        out = (out,) if isinstance(out, Tensor) else tuple(out)
        return {n: o.float() for n, o in zip(self.output_names, out)}

    def describe(self) -> str:
        mode = "compiled (inductor)" if self.compiled else "eager"
        amp = "bf16 autocast" if self.precision == "bf16" else "fp32"
        return f"torch {torch.__version__} {mode}, {amp}, {torch.get_num_threads()} threads"


class OnnxRuntimeRunner(Runner):
    def __init__(self, path: str | Path, precision: str, threads: int) -> None:
        import onnxruntime as ort
        if precision != "fp32":
            raise ValueError(f"precision {precision!r} with backend onnxruntime: its CPU "
                             "kernels are fp32 only; use --backend openvino or torch for bf16")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
        self.backend, self.precision, self.threads = "onnxruntime", precision, threads
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        self.version = ort.__version__

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        feed = {"input": np.ascontiguousarray(x.detach().float().cpu().numpy())}
        outs = self.session.run(list(self.output_names), feed)
        return {n: torch.from_numpy(o) for n, o in zip(self.output_names, outs)}

    def describe(self) -> str:
        return f"onnxruntime {self.version} CPUExecutionProvider, fp32, {self.threads} threads"


@functools.cache
def openvino_core():
    """One OpenVINO Core per process, as OpenVINO recommends. (A Core freed with its last
    model made a later training run with DataLoader workers, which fork, die of SIGSEGV in
    the pose tests, OpenVINO 2026.4; a Core kept alive does not.)"""
    import openvino as ov
    return ov.Core()


class OpenVinoRunner(Runner):
    def __init__(self, path: str | Path, precision: str, threads: int) -> None:
        import openvino as ov
        core = openvino_core()
        config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                  "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.backend, self.precision, self.threads = "openvino", precision, threads
        self.output_names = tuple(o.get_any_name() for o in self.compiled.outputs)
        self.version = ov.__version__
        # OpenVINO falls back to f32 where the CPU has no bf16 support: report what it chose.
        ran = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.ran_precision = ran.to_string() if hasattr(ran, "to_string") else str(ran)

    def __call__(self, x: Tensor) -> dict[str, Tensor]:
        array = np.ascontiguousarray(x.detach().float().cpu().numpy())
        results = self.request.infer({0: array})
        return {n: torch.from_numpy(np.array(results[out]))
                for n, out in zip(self.output_names, self.compiled.outputs)}

    def describe(self) -> str:
        fallback = self.precision == "bf16" and "bf16" not in self.ran_precision
        note = " (bf16 requested; this CPU has no bf16 support)" if fallback else ""
        return (f"openvino {self.version.split('-')[0]} CPU, inference precision "
                f"{self.ran_precision}{note}, {self.threads} threads")


def check_choice(backend: str, precision: str, device: str = "cpu") -> None:
    """Reject an unknown backend / precision / device before any work, naming the valid
    ones (the ONNX runtimes run here on the CPU only)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r}; expected one of {list(BACKENDS)}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r}; expected one of {list(PRECISIONS)}")
    if backend == "onnxruntime" and precision != "fp32":
        raise ValueError("backend onnxruntime runs fp32 only; use --backend openvino or "
                         "torch for bf16")
    kind = device.split(":")[0]
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}; expected cpu, cuda or cuda:N")
    if kind == "cuda" and backend != "torch":
        raise ValueError(f"device {device!r} with backend {backend}: it runs on the CPU here; "
                         "use backend torch for CUDA")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this machine has no CUDA device")


def exit_on_bad_input(main: Callable[[], object], prog: str) -> None:
    """Run a command's `main()`; bad input (a missing or unreadable file, a wrong value, an
    output that cannot be written, an exported file of another model) ends it the way
    argparse ends on a bad flag: `<prog>: error: <message>` on stderr, exit status 2, no
    traceback."""
    try:
        main()
    except (OSError, ValueError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"{prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def make_runner(backend: str, precision: str, *, model: nn.Module | None = None,
                onnx_path: str | Path | None = None, output_names: Sequence[str] = ("output",),
                compile: bool = False, threads: int | None = None,
                export_size: tuple[int, int] = (224, 224),
                card: ModelCard | None = None) -> Runner:
    """A runner for `backend` / `precision`.

    torch needs `model`. onnxruntime / openvino take `onnx_path`, or export `model` (with
    dynamic height / width) to a temporary file first. A given file is first checked against
    `card`, the model the run asks for (`model_card.check_card`).
    """
    check_choice(backend, precision)
    threads = threads or torch.get_num_threads()
    if backend == "torch":
        if model is None:
            raise ValueError("backend torch needs the PyTorch model (a checkpoint), not an "
                             "ONNX file")
        return TorchRunner(model, output_names, precision, compile)
    if compile:
        raise ValueError(f"--compile applies to backend torch only, not {backend}")
    if onnx_path is None:
        if model is None:
            raise ValueError(f"backend {backend} needs an ONNX file or a model to export")
        onnx_path = Path(tempfile.mkdtemp(prefix="hrformer_onnx_")) / "model.onnx"
        export_onnx(model, onnx_path, output_names, export_size)
    elif not Path(onnx_path).is_file():
        raise FileNotFoundError(f"ONNX model not found: {onnx_path}")
    elif card is not None:
        check_card(onnx_path, card)
    runner_class = OnnxRuntimeRunner if backend == "onnxruntime" else OpenVinoRunner
    return runner_class(onnx_path, precision, threads)


def verify_export(model: nn.Module, onnx_path: str | Path, output_names: Sequence[str],
                  input_shape: Sequence[int],
                  backends: Sequence[str] = ("onnxruntime", "openvino")) -> dict[str, list]:
    """Run the exported file under each backend (fp32) on the seeded input and compare with
    the PyTorch model. Returns {backend: [Difference per output]}."""
    x = torch.randn(list(input_shape), generator=torch.Generator().manual_seed(0))
    expected = TorchRunner(model, output_names, "fp32")(x)
    report = {}
    for backend in backends:
        got = make_runner(backend, "fp32", onnx_path=onnx_path)(x)
        report[backend] = [difference(n, got[n], expected[n]) for n in output_names]
    return report


def export_and_verify(model: nn.Module, path: str | Path, output_names: Sequence[str],
                      size: tuple[int, int], dynamic_hw: bool, verify_batch: int,
                      card: ModelCard | None = None) -> int:
    """What each task's export command does: export (with `card` in the metadata), verify
    under every runtime at `size`, print the differences. Returns the exit status (1 when
    one is above the tolerance)."""
    height, width = size
    traced = export_onnx(model, path, output_names, size, dynamic_hw=dynamic_hw, card=card)
    print(f"wrote {path} (traced at {traced[0]}x{traced[1]}, dynamic batch"
          f"{', height and width' if dynamic_hw else ''})")
    ok = True
    for backend, diffs in verify_export(model, path, output_names,
                                        (verify_batch, 3, height, width)).items():
        for d in diffs:
            print(f"{backend} vs torch at {height}x{width}: {d}")
            ok &= d.ok
    return 0 if ok else 1


def add_export_args(parser: argparse.ArgumentParser, verify_batch: int) -> None:
    """The output flags every task's export command shares."""
    parser.add_argument("--out", "--output", dest="out", required=True,
                        help="the .onnx file to write")
    parser.add_argument("--static-hw", action="store_true",
                        help="fixed height / width (dynamic batch only)")
    parser.add_argument("--verify-batch", type=int, default=verify_batch)


def add_runtime_args(parser: argparse.ArgumentParser) -> None:
    """The runtime flags of the predict and demo commands."""
    parser.add_argument("--backend", choices=BACKENDS, default="torch")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile (backend torch)")
    parser.add_argument("--onnx", help="an exported model for onnxruntime / openvino "
                                       "(default: export the checkpoint to a temporary file)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (backend torch)")
