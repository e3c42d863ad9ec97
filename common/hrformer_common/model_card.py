"""What an exported ONNX file is, written into its metadata and checked before it runs.

An .onnx file says nothing about the task, variant, classes or weights it was exported from:
run with the wrong one, it prints another model's predictions, or fails with a bare
`KeyError: 'logits'`. `export_onnx` writes a `ModelCard` into the file's `metadata_props`
(keys `hrformer.<field>`); a run that is given a file compares it with the card of the model
it was asked for and stops, naming the file and every field that differs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Mapping, Sequence

from torch import Tensor, nn

KEY_PREFIX = "hrformer."


class ModelMismatchError(ValueError):
    """An exported file is not the model a run asked for."""


def window_sizes(model: nn.Module) -> list[int]:
    """Every attention window size used in the model (modules with `window` and `heads`)."""
    return sorted({m.window for m in model.modules()
                   if isinstance(getattr(m, "window", None), int) and hasattr(m, "heads")})


def architecture_fingerprint(state: Mapping[str, Tensor]) -> str:
    """A short hash of the key names and shapes: another variant or head differs here."""
    text = json.dumps([[k, list(v.shape)] for k, v in state.items()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def weights_fingerprint(state: Mapping[str, Tensor]) -> str:
    """A short hash of the floating-point values: other weights of the same model differ."""
    digest = hashlib.sha256()
    for key, value in state.items():
        if value.is_floating_point():
            digest.update(key.encode())
            digest.update(value.detach().float().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ModelCard:
    """The facts of an exported model; `input_size` is None for a file with dynamic height
    and width (`"HxW"` when traced at a fixed size)."""

    task: str                      # "cls", "pose" or "seg"
    variant: str                   # a readable name: model, config or backbone
    num_classes: int               # classes (cls, seg) or joints (pose)
    outputs: tuple[str, ...]
    input_layout: str              # e.g. "NCHW float32 RGB, mean (...) std (...)"
    window_sizes: tuple[int, ...]
    architecture: str
    weights: str
    input_size: str | None = None
    labels: tuple[str, ...] = ()   # class names (cls, seg) or keypoint names (pose), if known

    @classmethod
    def of(cls, model: nn.Module, *, task: str, variant: str, num_classes: int,
           outputs: Sequence[str], input_layout: str, input_size: str | None,
           labels: Sequence[str] = ()) -> ModelCard:
        """The card of `model` as loaded from its checkpoint, before any inference folding
        (its state dict is then the checkpoint's values, the same on every machine).
        `input_size`: the size a run feeds ("HxW"), or None for images of any size. `labels`:
        the names of the classes or keypoints, one per output channel."""
        if labels and len(labels) != num_classes:
            raise ValueError(f"{variant}: {len(labels)} names for {num_classes} "
                             f"{'keypoints' if task == 'pose' else 'classes'}")
        state = model.state_dict()
        return cls(task, variant, int(num_classes), tuple(outputs), input_layout,
                   tuple(window_sizes(model)), architecture_fingerprint(state),
                   weights_fingerprint(state), input_size, tuple(str(n) for n in labels))

    def metadata(self) -> dict[str, str]:
        return {KEY_PREFIX + k: json.dumps(v) for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, props: Mapping[str, str]) -> ModelCard | None:
        """The card in an ONNX file's metadata, or None when it has none."""
        values = {}
        for f in fields(cls):
            raw = props.get(KEY_PREFIX + f.name)
            if raw is None:
                if f.name in ("input_size", "labels"):  # optional (older files: no labels)
                    continue
                return None
            value = json.loads(raw)
            values[f.name] = tuple(value) if isinstance(value, list) else value
        return cls(**values)

    def differences(self, expected: ModelCard) -> list[str]:
        """What in this (file's) card differs from the one a run expects."""
        found = [f"{name}: the file has {getattr(self, name)!r}, the run expects "
                 f"{getattr(expected, name)!r}"
                 for name in ("task", "num_classes", "outputs", "input_layout", "window_sizes")
                 if getattr(self, name) != getattr(expected, name)]
        if self.architecture != expected.architecture:
            found.append(f"architecture: the file is {self.variant!r}, the run builds "
                         f"{expected.variant!r} (other layers or shapes)")
        elif self.weights != expected.weights:
            found.append("weights: the file was exported from other weights than the "
                         "checkpoint of this run")
        if self.labels and expected.labels and self.labels != expected.labels:
            found.append(f"labels: the file names {list(self.labels[:5])}..., the run "
                         f"{list(expected.labels[:5])}...")
        if self.input_size is not None and expected.input_size != self.input_size:
            want = expected.input_size or "images of any size"
            found.append(f"input size: the file was traced at a fixed {self.input_size}; this "
                         f"run feeds {want} (export without --static-hw)")
        return found


def write_card(path: str | Path, card: ModelCard) -> None:
    """Add `card` to the metadata of the ONNX file at `path` (rewritten in place: call it on
    a file that is not yet visible under its final name)."""
    import onnx
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if not p.key.startswith(KEY_PREFIX)]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in card.metadata().items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def read_card(path: str | Path) -> ModelCard | None:
    """The card of an exported file, or None when it has none; a file that is not ONNX (or
    is truncated) is a ValueError naming it."""
    import onnx
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf's DecodeError and others; name the file
        raise ValueError(f"{path}: not a readable ONNX file (corrupt, truncated or another "
                         f"format?): {str(err).strip() or type(err).__name__}") from err
    return ModelCard.from_metadata({p.key: p.value for p in model.metadata_props})


def check_card(path: str | Path, expected: ModelCard) -> None:
    """Stop before running `path` when it is not the model of `expected`."""
    card = read_card(path)
    if card is None:
        raise ModelMismatchError(
            f"{path}: no HRFormer model card in its metadata, so it cannot be checked against "
            f"the {expected.task} model {expected.variant!r} this run asks for; export it "
            "again with this repository's tools/export.py")
    problems = card.differences(expected)
    if problems:
        raise ModelMismatchError(f"{path} is not the model this run asks for ("
                                 f"{expected.task} {expected.variant!r}): " + "; ".join(problems))
