"""Run a model on PyTorch, ONNX Runtime or OpenVINO, in fp32 or bf16: one `Runner` API for
every use (the tasks' networks, the YOLOX person detector, the benchmarks).

Framework-free (torch, numpy and the standard library; onnxruntime / openvino are imported
only when chosen). A runner names its inputs (`input_names`; `input_dims`: each one's
dimensions, None where dynamic) and is called with one tensor or array (a model with one
input) or a mapping name -> tensor / array; it returns {output name: float32 tensor}.
"""
from __future__ import annotations

import contextlib
import functools
import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from .export import INPUT_NAME, export_onnx
from .model_card import ModelCard, check_card

BACKENDS = ("torch", "onnxruntime", "openvino")
PRECISIONS = ("fp32", "bf16")
# A PyTorch model takes what `export_onnx` traces: 3-channel images of any batch and size.
TORCH_INPUT_DIMS = (None, 3, None, None)

Array = Union[Tensor, np.ndarray]
Inputs = Union[Array, Mapping[str, Array]]
Dims = tuple[Union[int, None], ...]


class Runner:
    """`runner(inputs)` -> {output name: float32 tensor} (see the module's docstring)."""

    backend: str
    precision: str
    input_names: tuple[str, ...]
    input_dims: dict[str, Dims]
    output_names: tuple[str, ...]

    def __call__(self, inputs: Inputs) -> dict[str, Tensor]:
        return self.run(self.named_inputs(inputs))

    def named_inputs(self, inputs: Inputs) -> dict[str, Array]:
        """`inputs` by input name: a mapping must name every input, once."""
        if isinstance(inputs, Mapping):
            if set(inputs) != set(self.input_names):
                raise ValueError(f"inputs {sorted(inputs)}; this model takes "
                                 f"{list(self.input_names)}")
            return dict(inputs)
        if len(self.input_names) != 1:
            raise ValueError(f"one array given; this model takes {list(self.input_names)}: "
                             "pass a mapping name -> array")
        return {self.input_names[0]: inputs}

    def run(self, inputs: dict[str, Array]) -> dict[str, Tensor]:
        raise NotImplementedError

    def describe(self) -> str:
        """What actually runs (backend, precision the runtime chose, threads)."""
        raise NotImplementedError


def _as_numpy(value: Array) -> np.ndarray:
    """A contiguous CPU array; floating-point values as float32 (the exported files' type)."""
    if isinstance(value, Tensor):
        value = value.detach().cpu()
        value = (value.float() if value.is_floating_point() else value).numpy()
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32, copy=False)
    return np.ascontiguousarray(array)


def _as_tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.asarray(array)).float()


class TorchRunner(Runner):
    def __init__(self, model: nn.Module, output_names: Sequence[str], precision: str,
                 compile: bool = False) -> None:
        self.backend, self.precision = "torch", precision
        self.input_names, self.input_dims = (INPUT_NAME,), {INPUT_NAME: TORCH_INPUT_DIMS}
        self.output_names = tuple(output_names)
        self.model = model.eval()
        self.compiled = compile
        self._forward: Callable = torch.compile(self.model) if compile else self.model

    def run(self, inputs: dict[str, Array]) -> dict[str, Tensor]:
        x = inputs[INPUT_NAME]
        x = torch.from_numpy(x) if isinstance(x, np.ndarray) else x
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
    backend_name = "onnxruntime"

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
        inputs = self.session.get_inputs()
        self.input_names = tuple(i.name for i in inputs)
        # A fixed dimension is an int; a dynamic one a symbolic name or None.
        self.input_dims = {i.name: tuple(d if isinstance(d, int) else None for d in i.shape)
                           for i in inputs}
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        self.version = ort.__version__

    def run(self, inputs: dict[str, Array]) -> dict[str, Tensor]:
        feed = {name: _as_numpy(value) for name, value in inputs.items()}
        outs = self.session.run(list(self.output_names), feed)
        return {n: _as_tensor(o) for n, o in zip(self.output_names, outs)}

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
    backend_name = "openvino"

    def __init__(self, path: str | Path, precision: str, threads: int) -> None:
        import openvino as ov
        core = openvino_core()
        model = core.read_model(str(path))
        config = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                  "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.backend, self.precision, self.threads = "openvino", precision, threads
        self.input_names = tuple(i.get_any_name() for i in model.inputs)
        self.input_dims = {i.get_any_name(): tuple(d.get_length() if d.is_static else None
                                                   for d in i.get_partial_shape())
                           for i in model.inputs}
        self.output_names = tuple(o.get_any_name() for o in self.compiled.outputs)
        self.version = ov.__version__
        # OpenVINO falls back to f32 where the CPU has no bf16 support: report what it chose.
        ran = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.ran_precision = ran.to_string() if hasattr(ran, "to_string") else str(ran)

    def run(self, inputs: dict[str, Array]) -> dict[str, Tensor]:
        results = self.request.infer({index: _as_numpy(inputs[name])
                                      for index, name in enumerate(self.input_names)})
        return {n: _as_tensor(np.array(results[out]))
                for n, out in zip(self.output_names, self.compiled.outputs)}

    def describe(self) -> str:
        fallback = self.precision == "bf16" and "bf16" not in self.ran_precision
        note = " (bf16 requested; this CPU has no bf16 support)" if fallback else ""
        return (f"openvino {self.version.split('-')[0]} CPU, inference precision "
                f"{self.ran_precision}{note}, {self.threads} threads")


def _open(runner_class: type, path: str | Path, precision: str, threads: int) -> Runner:
    """The runtime's session of an ONNX file; a file it cannot read is an error naming it."""
    try:
        return runner_class(path, precision, threads)
    except ValueError:
        raise
    except Exception as err:  # the runtimes raise types of their own; name the file
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{path}: {runner_class.backend_name} cannot load it as an ONNX "
                         f"model (corrupt, truncated or not ONNX?): {reason}") from err


def check_choice(backend: str, precision: str, device: str = "cpu",
                 onnx: str | Path | None = None, threads: int | None = None) -> None:
    """Reject an unknown backend / precision / device, an exported file without a runtime to
    run it, or a thread count below 1, before any work, naming the valid choices (the ONNX
    runtimes run here on the CPU only)."""
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
    if onnx is not None and backend == "torch":
        raise ValueError(f"--onnx {onnx}: an exported file runs under --backend onnxruntime "
                         "or openvino; backend torch runs the checkpoint")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"threads (--threads) = {threads!r}; expected an integer >= 1")


def make_runner(backend: str, precision: str, *, model: nn.Module | None = None,
                onnx_path: str | Path | None = None, output_names: Sequence[str] = ("output",),
                compile: bool = False, threads: int | None = None,
                export_size: tuple[int, int] | None = None,
                card: ModelCard | None = None) -> Runner:
    """A runner for `backend` / `precision`.

    torch needs `model`. onnxruntime / openvino take `onnx_path`, first checked against
    `card`, the model the run asks for (`model_card.check_card`); or they export `model`
    with dynamic height and width, or, given `export_size` (height, width), fixed at that
    size (faster under both runtimes, for a network that always sees one size). The export
    goes to a temporary folder, deleted once the runtime has read the file.
    """
    check_choice(backend, precision, onnx=onnx_path, threads=threads)
    threads = threads or torch.get_num_threads()
    if backend == "torch":
        if model is None:
            raise ValueError("backend torch needs the PyTorch model (a checkpoint), not an "
                             "ONNX file")
        return TorchRunner(model, output_names, precision, compile)
    if compile:
        raise ValueError(f"--compile applies to backend torch only, not {backend}")
    runner_class = OnnxRuntimeRunner if backend == "onnxruntime" else OpenVinoRunner
    if onnx_path is not None:
        if not Path(onnx_path).is_file():
            raise FileNotFoundError(f"ONNX model not found: {onnx_path}")
        if card is not None:
            check_card(onnx_path, card)
        return _open(runner_class, onnx_path, precision, threads)
    if model is None:
        raise ValueError(f"backend {backend} needs an ONNX file or a model to export")
    with tempfile.TemporaryDirectory(prefix="hrformer_onnx_") as folder:
        path = Path(folder) / "model.onnx"
        export_onnx(model, path, output_names, export_size, dynamic_hw=export_size is None)
        return runner_class(path, precision, threads)
