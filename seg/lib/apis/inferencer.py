"""`SegInferencer`: segment images from Python, as `tools/predict.py` does on the command
line (the command is a thin layer over it, so both give the same result for an image).

    from lib.apis import SegInferencer
    segment = SegInferencer("configs/cityscapes/H_48_D_4.json", "hrt_small_ocr_v2_city.pth")
    result = segment("street.jpg")       # or a PIL image, an RGB uint8 array, or a list
    label = result["label"]              # H x W uint8: the dataset's raw ids
    result["classes"]                    # {raw id: class name} of the classes found
    overlay = segment.visualize("street.jpg", result)   # H x W x 3 uint8 RGB
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Callable, Sequence, Union

import cv2
import numpy as np
import torch
from PIL import Image
from torch import Tensor
from tqdm import tqdm

from hrformer_common.images import load_pixels
from hrformer_common.model_card import read_card
from hrformer_common.runners import Runner, check_choice, make_runner
from ..datasets import build_mapper, build_normalize
from ..datasets.labels import present_values
from ..segmentor.inference import (check_window, default_stride, labels_from_scores,
                                   multi_scale_flip, single_scale, slide_multi_scale_flip,
                                   slide_scores, upsample_scores, window_count)
from ..utils.configer import Configer
from .deploy import OUTPUT_NAMES, Network, as_segmentor, inference_model

ImageInput = Union[str, Path, np.ndarray, Image.Image]
MODES = ("whole", "slide", "auto")
# `auto` slides above a Cityscapes frame, the size the released models are tested whole at.
AUTO_SLIDE_PIXELS = 2048 * 1024
DEFAULT_CROP = (512, 1024)   # (height, width), when the config has no training crop


def check_alpha(alpha: float) -> None:
    """The overlay's colour weight: a number from 0 (the image) to 1 (the colours)."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha={alpha!r}: expected a number from 0 (the image only) to 1 "
                         "(the class colours only)")


def training_crop(configer: Configer) -> tuple[int, int]:
    """The config's training crop as (height, width) (`train_trans.random_crop.crop_size`
    is [width, height]), or DEFAULT_CROP."""
    crop = configer.get("train_trans", "random_crop", "crop_size", default=None)
    return (int(crop[1]), int(crop[0])) if crop else DEFAULT_CROP


class SegInferencer:
    """Label maps of images, one method per stage: `preprocess` (read, normalise),
    `forward` (the network runner over the whole image or sliding windows), `postprocess`
    (plain numpy results), `visualize` (a colour overlay); `__call__` ties them.

    `model`: a dataset config (JSON) giving the classes (`data.class_names`, colours
    `data.palette`), the label ids, the channel order and the normalisation, and by default
    the network (`network.model_name`,
    `network.backbone`; or give `model_name` / `backbone`); `checkpoint`: openseg layout.
    `backend` "torch", "onnxruntime" or "openvino" (`onnx`: an exported file, else the
    checkpoint is exported to a temporary file), `precision` "fp32" or "bf16", `threads`
    (torch's count is process-wide), `device` (torch only). `multi_scale`: the logits of
    `scales` (and, with `flip`, their mirror images) summed. `mode`: "whole" (the image in one
    forward), "slide" (windows of `crop_size` every `stride`, (height, width), memory bounded
    by the crop) or "auto" (slide above AUTO_SLIDE_PIXELS). The crop defaults to the config's
    training crop, the stride to two thirds of it. The inferencer is reusable across calls.
    """

    def __init__(self, model: str | Path, checkpoint: str, *, model_name: str | None = None,
                 backbone: str | None = None, num_classes: int | None = None,
                 backend: str = "torch", precision: str = "fp32", onnx: str | None = None,
                 threads: int | None = None, device: str = "cpu", compile: bool = False,
                 multi_scale: bool = False, scales: Sequence[float] = (0.75, 1.0, 1.25),
                 flip: bool = True, mode: str = "auto",
                 crop_size: Sequence[int] | None = None,
                 stride: Sequence[int] | None = None) -> None:
        check_choice(backend, precision, device, onnx, threads)
        if onnx is not None and not Path(onnx).is_file():
            raise FileNotFoundError(f"ONNX model not found: {onnx}")
        if onnx is not None:
            read_card(onnx)  # a corrupt file is named before the model loads
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}; expected one of {list(MODES)}")
        if mode == "whole" and (crop_size or stride):
            raise ValueError("crop_size and stride are the sliding window's; they do nothing "
                             "in mode 'whole' (use 'slide' or 'auto')")
        if multi_scale and (not scales or any(s <= 0 for s in scales)):
            raise ValueError(f"scales {list(scales)}: expected one or more positive factors")
        configer = Configer.from_file(model)
        network = Network.of(configer, model, model_name, backbone, num_classes)
        self.num_classes = network.num_classes
        self.mapper, self.normalize = build_mapper(configer), build_normalize(configer)
        self.input_mode = configer.get("data.input_mode", default="BGR")
        self.classes = network.classes
        self.class_names = network.classes.names   # empty when the config names none
        self.crop_hw = tuple(crop_size) if crop_size else training_crop(configer)
        self.stride_hw = tuple(stride) if stride else default_stride(self.crop_hw)
        check_window(self.crop_hw, self.stride_hw)
        self.mode, self.multi_scale, self.scales, self.flip = mode, multi_scale, scales, flip
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        net, self.card = inference_model(model, checkpoint, model_name=network.model_name,
                                         backbone=network.backbone, device=device)
        self.runner: Runner = make_runner(
            backend, precision, model=net, onnx_path=onnx,
            output_names=OUTPUT_NAMES, compile=compile, threads=threads, card=self.card)
        self.segmentor = as_segmentor(self.runner)

    def preprocess(self, image: ImageInput) -> tuple[np.ndarray, Tensor]:
        """An image (file path, PIL image or RGB uint8 H x W x 3 array) -> its RGB pixels
        and the normalised 1 x 3 x H x W input in the config's channel order. Files are read
        as `hrformer_common.images.read_image` reads them (EXIF orientation applied: results
        come at the displayed size; 16 bits scaled to 8)."""
        rgb = load_pixels(image)
        pixels = rgb[:, :, ::-1] if self.input_mode == "BGR" else rgb
        return rgb, self.normalize(pixels).unsqueeze(0).to(self.device)

    def mode_for(self, size: Sequence[int]) -> str:
        """"whole" or "slide" for an image of `size` (height, width)."""
        if self.mode != "auto":
            return self.mode
        return "slide" if size[0] * size[1] > AUTO_SLIDE_PIXELS else "whole"

    def window_count(self, size: Sequence[int]) -> int:
        """How many windows `forward` runs over an image of `size` (0 in whole mode)."""
        if self.mode_for(size) == "whole":
            return 0
        if self.multi_scale:
            return window_count(size, self.crop_hw, self.stride_hw, self.scales, self.flip)
        return window_count(size, self.crop_hw, self.stride_hw)

    def forward(self, x: Tensor, on_window: Callable[[], object] | None = None
                ) -> tuple[str, Tensor]:
        """(mode, scores): in whole mode the logits at the input size (1 x C x H x W), in
        slide mode the averaged window logits at 1/4 of it (`slide_scores`; `on_window` is
        called after each window)."""
        mode = self.mode_for(x.shape[-2:])
        if mode == "whole":
            return mode, (multi_scale_flip(self.segmentor, x, self.scales, self.flip)
                          if self.multi_scale else single_scale(self.segmentor, x))
        if self.multi_scale:
            return mode, slide_multi_scale_flip(self.segmentor, x, self.crop_hw,
                                                self.stride_hw, self.scales, self.flip,
                                                on_window)
        return mode, slide_scores(self.segmentor, x, self.crop_hw, self.stride_hw, on_window)

    def postprocess(self, mode: str, scores: Tensor, size: Sequence[int],
                    return_logits: bool = False) -> dict:
        """`{"label": H x W uint8 raw ids, "classes": {raw id: name} of the classes in it
        (the train id as text when the config names none), "logits": C x H x W float32
        (return_logits)}`."""
        if mode == "whole":
            train_ids = scores[0].argmax(0).cpu().numpy().astype(np.uint8)
        else:
            train_ids = labels_from_scores(scores, size).numpy()
        result = {"label": self.mapper.to_raw_ids(train_ids),
                  "classes": {int(self.mapper.to_raw_ids(i)): self.classes.name(int(i))
                              for i in present_values(train_ids)}}
        if return_logits:
            logits = scores if mode == "whole" else upsample_scores(scores, size)
            result["logits"] = logits[0].float().cpu().numpy()
        return result

    def visualize(self, image: ImageInput, result: dict, alpha: float = 0.5) -> np.ndarray:
        """The image blended with the class colours (the config's palette) of
        `result["label"]` (weight `alpha`): H x W x 3 uint8 RGB."""
        check_alpha(alpha)
        rgb = load_pixels(image)
        colours = self.classes.colorize(self.mapper.lut[result["label"]])
        return cv2.addWeighted(rgb, 1 - alpha, colours, alpha, 0)

    def __call__(self, inputs: ImageInput | Sequence[ImageInput], return_logits: bool = False,
                 return_overlay: bool = False, alpha: float = 0.5,
                 progress: bool = False) -> dict | list[dict]:
        """The result of one image, or a list of results for a list of images; with
        `return_overlay` each also has `"overlay"` (`visualize`, colour weight `alpha`).
        `progress`: a progress bar (stderr) over the windows of an image slid in several."""
        check_alpha(alpha)
        single = not isinstance(inputs, (list, tuple))
        results = []
        for image in [inputs] if single else inputs:
            rgb, x = self.preprocess(image)
            windows = self.window_count(rgb.shape[:2])
            with tqdm(total=windows, desc="windows", unit="window", leave=False,
                      disable=not progress or windows < 2) as bar:
                scores = self.forward(x, bar.update)
            result = self.postprocess(*scores, rgb.shape[:2], return_logits)
            if return_overlay:
                result["overlay"] = self.visualize(rgb, result, alpha)
            results.append(result)
        return results[0] if single else results

    def legend(self) -> list[dict]:
        """Per class: the id its pixels hold in `label` (`label_id`), `train_id`, `name`
        and `color` [R, G, B] of the overlays."""
        return self.classes.legend(self.mapper)

    def describe(self) -> str:
        """What runs the network (backend, precision, threads)."""
        return self.runner.describe()
