"""`--phase test`: predict a split, write raw-id label PNGs and colour PNGs, score them."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..datasets import DatasetClasses, build_eval_loader, build_mapper
from ..utils import distributed
from ..utils.configer import Configer
from hrformer_common.checkpoint import load_checkpoint
from ..models.backbones.hrformer import reparameterize_model
from .checkpoints import restore_weights
from .configured_segmentor import configured_segmentor
from .evaluator import evaluate, log_scores
from .inference import Predictor

log = logging.getLogger(__name__)


def test_split(configer: Configer) -> str:
    """`test.split` if set; else, as the original, the unlabelled test split when the output
    folder's own name contains 'test' (only that name: a parent path never switches it)."""
    split = configer.get("test.split", default=None)
    if split:
        return split
    out_dir = configer.get("test.out_dir", default=None)
    return "test" if out_dir and "test" in Path(out_dir).name else "val"


class PredictionWriter:
    """Saves `<out_dir>/label/<name>.png` (dataset raw ids, e.g. Cityscapes label ids),
    `<out_dir>/vis/<name>.png` (the config's class colours) and, with `--save_prob y`, the class probabilities
    as `<out_dir>/prob/<name>.npy` (float16, classes x height x width)."""

    def __init__(self, out_dir: str | Path, configer: Configer) -> None:
        self.label_dir = Path(out_dir) / "label"
        self.vis_dir = Path(out_dir) / "vis"
        save_prob = configer.get("test.save_prob", default=False)
        self.prob_dir = Path(out_dir) / "prob" if save_prob else None
        for folder in (self.label_dir, self.vis_dir, self.prob_dir):
            if folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
        self.mapper = build_mapper(configer)
        self.classes = DatasetClasses.of(configer)

    def __call__(self, pred: np.ndarray, meta: dict, logits: torch.Tensor) -> None:
        name = meta["name"]
        Image.fromarray(self.mapper.to_raw_ids(pred)).save(self.label_dir / f"{name}.png")
        Image.fromarray(self.classes.colorize(pred)).save(self.vis_dir / f"{name}.png")
        if self.prob_dir is not None:
            prob = logits.float().softmax(0).to(torch.float16).cpu().numpy()
            np.save(self.prob_dir / f"{name}.npy", prob)


def run_test(configer: Configer, device: torch.device) -> dict | None:
    resume = configer.get("network.resume", default=None)
    if not resume:
        raise ValueError("--phase test needs --resume <checkpoint>")
    model = configured_segmentor(configer, device)
    restore_weights(model, load_checkpoint(resume), f"checkpoint {resume}",
                 strict=configer.get("network.resume_strict", default=True))
    reparameterize_model(model)  # inference only: BatchNorm folded once
    split = test_split(configer)
    loader = build_eval_loader(configer, split, section="test")
    predictor = Predictor(configer, "test")
    out_dir = configer.get("test.out_dir", default=None)
    writer = PredictionWriter(out_dir, configer) if out_dir else None
    log.info("testing %s on the %s split (%s, scales %s)", resume, split, predictor.mode,
             predictor.scales if predictor.mode == "ms_test" else [1.0])
    score = evaluate(model, loader, predictor, configer.get("data.num_classes"), device,
                     on_prediction=writer)
    if split == "test":
        log.info("wrote predictions to %s (no labels to score)", out_dir)
        return None
    log_scores(score, configer.get("data.class_names", default=None))
    result = {"split": split, "mode": predictor.mode, "mIoU": score.miou(),
              "pixel_acc": score.pixel_accuracy(),
              "per_class_iou": [None if np.isnan(v) else float(v) for v in score.iou()]}
    if out_dir and distributed.is_main():
        (Path(out_dir) / "metrics.json").write_text(json.dumps(result, indent=1))
    return result
