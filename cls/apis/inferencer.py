"""`ClsInferencer`: classify images from Python, as `tools/predict.py` does on the command
line (the command is a thin layer over it, so both give the same result for an image).

    from apis import ClsInferencer
    classify = ClsInferencer("hrt_small", "hrt_small.pth", topk=5)
    result = classify("cat.jpg")        # or a PIL image, an RGB uint8 array, or a list
    for top in result["topk"]:
        print(top["class_id"], top["name"], round(top["probability"], 3))
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from hrformer_common.images import load_pixels
from hrformer_common.model_card import read_card
from hrformer_common.runners import Runner, check_choice, make_runner

from . import deploy

ImageInput = Union[str, Path, np.ndarray, Image.Image]


def check_count(name: str, value: object) -> None:
    """A count argument (topk, batch_size): an integer >= 1, else a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}={value!r}: expected an integer >= 1")


class ClsInferencer:
    """Top-k classes of images, one method per stage: `preprocess` (read, main.py's
    evaluation transform, batch), `forward` (the network runner), `postprocess` (plain
    Python results); `__call__` ties them.

    `model`: a released variant (`hrt_tiny`, `hrt_small`, `hrt_base`, at `input_size`) or a
    yacs config file; `checkpoint`: weights in the released layout. `backend` "torch",
    "onnxruntime" or "openvino" (`onnx`: an exported file, else the checkpoint is exported
    to a temporary file), `precision` "fp32" or "bf16", `threads` (torch's count is
    process-wide), `device` (torch only). `class_names`: a list or a file with one name per
    line (default: the names the checkpoint stores (main.py stores the image folders'), else
    timm's ImageNet names for 1000 classes, else the index). The model is
    loaded, its card taken and folded once; the inferencer is reusable across calls.
    """

    def __init__(self, model: str, checkpoint: str, *, input_size: int = 224, topk: int = 5,
                 class_names: Sequence[str] | str | Path | None = None,
                 backend: str = "torch", precision: str = "fp32", onnx: str | None = None,
                 threads: int | None = None, device: str = "cpu", compile: bool = False,
                 batch_size: int = 8) -> None:
        check_choice(backend, precision, device, onnx, threads)
        for name, count in (("input_size", input_size), ("topk", topk),
                            ("batch_size", batch_size)):
            check_count(name, count)
        if onnx is not None and not Path(onnx).is_file():
            raise FileNotFoundError(f"ONNX model not found: {onnx}")
        if onnx is not None:
            read_card(onnx)  # a corrupt file is named before the model loads
        if threads:
            torch.set_num_threads(threads)
        self.transform = deploy.eval_transform(model, input_size)
        self.input_size = tuple(self.transform(Image.new("RGB", (8, 8))).shape[-2:])
        net, self.card = deploy.inference_model(model, checkpoint, input_size=self.input_size,
                                                device=device)
        # the caller's names, else the checkpoint's (its card's), else ImageNet's or indices
        self.class_names = deploy.class_names(net.classifier.out_features,
                                              class_names or self.card.labels or None)
        self.topk = min(topk, len(self.class_names))
        self.batch_size = batch_size
        self.runner: Runner = make_runner(
            backend, precision, model=net, onnx_path=onnx,
            output_names=deploy.OUTPUT_NAMES, compile=compile, threads=threads,
            export_size=self.input_size, card=self.card)

    def preprocess(self, images: Sequence[ImageInput]) -> Tensor:
        """Images (file paths, PIL images or RGB uint8 H x W x 3 arrays) -> the normalised
        N x 3 x H x W batch. Files are read as `hrformer_common.images.read_image` reads them
        (EXIF orientation applied, 16 bits scaled to 8)."""
        return torch.stack([self.transform(Image.fromarray(load_pixels(image)))
                            for image in images])

    def forward(self, batch: Tensor) -> Tensor:
        """N x classes logits (float32, on the CPU)."""
        return self.runner(batch)["logits"].float().cpu()

    def postprocess(self, logits: Tensor) -> list[dict]:
        """Per image `{"topk": [{"class_id", "name", "probability"}, ...]}`, best first."""
        top = logits.softmax(dim=-1).topk(self.topk, dim=-1)
        return [{"topk": [{"class_id": c, "name": self.class_names[c], "probability": p}
                          for c, p in zip(ids, probs)]}
                for ids, probs in zip(top.indices.tolist(), top.values.tolist())]

    def __call__(self, inputs: ImageInput | Sequence[ImageInput],
                 batch_size: int | None = None) -> dict | list[dict]:
        """The result of one image, or a list of results for a list of images (`batch_size`
        at a time, default the inferencer's)."""
        if batch_size is not None:
            check_count("batch_size", batch_size)
        single = not isinstance(inputs, (list, tuple))
        items = [inputs] if single else list(inputs)
        size = batch_size or self.batch_size
        results = []
        for start in range(0, len(items), size):
            batch = items[start:start + size]
            results += self.postprocess(self.forward(self.preprocess(batch)))
        return results[0] if single else results

    def describe(self) -> str:
        """What runs the network (backend, precision, threads)."""
        return self.runner.describe()

