"""ONNX export of an HRFormer model, and the check of the file under every runtime.

A model to export is an `nn.Module` whose forward takes one NCHW float batch and returns one
tensor or a tuple of tensors, named by `output_names` in that order. The file's one input is
`input`; its batch is dynamic, and so are height and width unless the export fixes them.
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from .atomic import atomic_path
from .model_card import ModelCard, window_sizes, write_card
from .tolerance import difference

INPUT_NAME = "input"
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
                input_size: tuple[int, int] | None, dynamic_hw: bool = True,
                batch: int = 1, card: ModelCard | None = None) -> tuple[int, int]:
    """Export `model` (eval mode) to ONNX with a dynamic batch (and dynamic height / width).

    With `dynamic_hw` the trace runs at `generic_trace_size` (see there); without, at
    `input_size`, the file's fixed (height, width). `card` goes into the file's metadata
    (`model_card.py`), with the traced size when it is fixed. Written atomically
    (`atomic.py`). Returns the traced (height, width).
    """
    if dynamic_hw:
        side = generic_trace_size(window_sizes(model))
        traced = (side, side + 2)  # different sides, same branch sizes: no H/W confusion
    elif input_size is None:
        raise ValueError("a fixed-size export needs input_size (height, width)")
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
    dynamic = {INPUT_NAME: _dynamic_axes("", 4, dynamic_hw)}
    dynamic.update({name: _dynamic_axes(f"{name}_", out.dim(), dynamic_hw)
                    for name, out in zip(output_names, outputs)})
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # branches: see above
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter
        torch.onnx.export(model, (x,), str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=list(output_names),
                          dynamic_axes=dynamic)
        if card is not None:
            fixed = None if dynamic_hw else f"{traced[0]}x{traced[1]}"
            write_card(tmp, replace(card, input_size=fixed))
    return traced


def verify_export(model: nn.Module, onnx_path: str | Path, output_names: Sequence[str],
                  input_shape: Sequence[int],
                  backends: Sequence[str] = ("onnxruntime", "openvino")) -> dict[str, list]:
    """Run the exported file under each backend (fp32) on the seeded input and compare with
    the PyTorch model. Returns {backend: [Difference per output]}."""
    from .runners import TorchRunner, make_runner  # not at the top: runners.py exports here
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
