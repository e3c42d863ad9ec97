"""`torchvision:<name>`: torchvision's COCO detectors, person class only.

Without a checkpoint the weights are the name's `...Weights.DEFAULT` (COCO_V1), which
torchvision downloads once to its cache (`$TORCH_HOME/hub/checkpoints`, by default
`~/.cache/torch/hub/checkpoints`). With one, the model is built without weights and the file
is loaded weights-only and strictly (`hrformer_common.checkpoint`). Default weights that
cannot be downloaded or read are an error naming the file, the cache folder and
`--det-checkpoint`. The model resizes, normalises and runs its own per-class NMS; the shared
limits are applied after.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import nn
from torchvision.models import detection, get_model, get_model_weights, list_models

from hrformer_common.checkpoint import load_checkpoint, load_weights, state_dict_of

from .detector_base import DetectionLimits, DetectorError, PersonDetector

TORCHVISION_DETECTORS = tuple(list_models(module=detection))
# torchvision's detectors label COCO category ids (keypointrcnn: 0 none, 1 person): person is 1.
PERSON_LABEL = 1


def _check_name(name: str) -> None:
    if name not in TORCHVISION_DETECTORS:
        raise DetectorError(f"torchvision:{name}: unknown detector; expected one of "
                            f"{', '.join(TORCHVISION_DETECTORS)}")


def untrained_model(name: str) -> nn.Module:
    """The detector `name` without weights (none for its backbone either), in eval mode."""
    _check_name(name)
    return get_model(name, weights=None, weights_backbone=None).eval()


def default_weights_model(name: str) -> nn.Module:
    """The detector `name` with its default weights, from torch's cache (downloaded there
    first when missing); a file that cannot be had is a `DetectorError` saying where to put it."""
    weights = get_model_weights(name).DEFAULT
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name
    try:
        return get_model(name, weights=weights)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as err:
        # no network (URLError), a failed hash check, a truncated file in the cache
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        done = "read" if cached.exists() else "downloaded"
        raise DetectorError(
            f"torchvision:{name}: its weights {cached.name} could not be {done} ({reason}); "
            f"torchvision takes them from its cache folder {cached.parent} (put the file "
            f"from {weights.url} there), or pass --det-checkpoint FILE") from err


def torchvision_model(name: str, checkpoint: str | Path | None = None) -> nn.Module:
    """The detector `name` in eval mode: default weights, or `checkpoint`'s (strict)."""
    _check_name(name)
    if checkpoint is None:
        return default_weights_model(name).eval()
    model = untrained_model(name)
    state = state_dict_of(load_checkpoint(checkpoint), str(checkpoint))
    load_weights(model, state, str(checkpoint))
    return model


class TorchvisionDetector(PersonDetector):
    """A torchvision detection model on `device`, its person boxes."""

    def __init__(self, name: str, limits: DetectionLimits, *,
                 checkpoint: str | Path | None = None, device: str = "cpu") -> None:
        super().__init__(limits)
        self.name, self.checkpoint = name, checkpoint
        self.device = torch.device(device)
        self.model = torchvision_model(name, checkpoint).to(self.device)

    def preprocess(self, image: np.ndarray) -> torch.Tensor:
        """3 x H x W float RGB in [0, 1], as torchvision's detectors take images."""
        pixels = torch.tensor(np.ascontiguousarray(image), device=self.device)  # a copy
        return pixels.permute(2, 0, 1).float() / 255.0

    @torch.inference_mode()
    def inference(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model([x])[0]

    def postprocess(self, output: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        person = output["labels"] == PERSON_LABEL
        return (output["boxes"][person].double().cpu().numpy(),
                output["scores"][person].double().cpu().numpy())

    def person_boxes(self, image: np.ndarray, key: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
        return self.postprocess(self.inference(self.preprocess(image)))

    def describe(self) -> str:
        weights = self.checkpoint or f"{get_model_weights(self.name).DEFAULT}"
        return f"torchvision {self.name} ({weights}, {self.device})"
