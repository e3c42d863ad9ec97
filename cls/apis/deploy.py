"""The classifier a checkpoint describes, as inference, export and the benchmark need it, and
the command-line flags that name it. The model is loaded in one place (`load_classifier`)
through the cls checkpoint loader."""
from __future__ import annotations

import argparse
from pathlib import Path

from torch import nn

from config import default_config, load_config
from data.build import build_transform
from hrformer_common.checkpoint import (CheckpointError, load_checkpoint, load_weights,
                                        state_dict_of)
from hrformer_common.model_card import ModelCard
from models import MODEL_NAMES, HRFormerClassifier, build_model, create_model
from models.hrformer import reparameterize_model

OUTPUT_NAMES = ("logits",)
INPUT_LAYOUT = "NCHW float32 RGB, ImageNet mean/std (main.py's evaluation transform)"


def load_classifier(model_name: str | None, checkpoint: str, cfg: str | None = None) -> nn.Module:
    """The classifier named `model_name` (or described by a yacs `cfg`) with the weights of a
    released-layout checkpoint (`{"model": ...}` or a bare state dict), in eval mode, not yet
    folded (see `inference_model`). The class count comes from the checkpoint's
    `classifier.weight`."""
    state = state_dict_of(load_checkpoint(checkpoint), checkpoint)
    if "classifier.weight" not in state:
        raise CheckpointError(f"{checkpoint}: no 'classifier.weight' (not a classifier "
                              "checkpoint)")
    num_classes = state["classifier.weight"].shape[0]
    if cfg is not None:
        config = load_config(cfg, ["MODEL.NUM_CLASSES", str(num_classes)])
        model = build_model(config)
    else:
        model = create_model(model_name, num_classes)
    if not isinstance(model, HRFormerClassifier):
        raise ValueError(f"{cfg}: not an HRFormer classifier (MODEL.TYPE must be 'hrt')")
    load_weights(model, state, checkpoint)
    return model.eval()


def inference_model(model_name: str | None, checkpoint: str, cfg: str | None,
                    input_size: tuple[int, int] | None) -> tuple[nn.Module, ModelCard]:
    """What export and inference run: the loaded classifier folded for inference
    (`reparameterize_model`: BatchNorm folded once, refuses training), and its model card,
    taken before the fold (the checkpoint's own values)."""
    model = load_classifier(model_name, checkpoint, cfg)
    card = model_card(model, model_name, cfg, input_size)
    return reparameterize_model(model), card


def model_card(model: HRFormerClassifier, model_name: str | None, cfg: str | None,
               input_size: tuple[int, int] | None) -> ModelCard:
    """The card of a loaded classifier (before folding), as export writes it and a run with
    an exported file checks it; `input_size` None: any size."""
    return ModelCard.of(model, task="cls", variant=model_name or Path(cfg).stem,
                        num_classes=model.classifier.out_features, outputs=OUTPUT_NAMES,
                        input_layout=INPUT_LAYOUT,
                        input_size=None if input_size is None else
                        f"{input_size[0]}x{input_size[1]}")


def eval_transform(cfg: str | None, input_size: int):
    """The evaluation transform of main.py (resize, centre crop, ImageNet normalisation) for
    the yacs config, or for the defaults at `input_size`; it takes a PIL image."""
    if cfg is not None:
        return build_transform(load_config(cfg), is_train=False)
    config = default_config()
    config.DATA.IMG_SIZE = input_size
    return build_transform(config, is_train=False)


def class_names(num_classes: int, names: str | Path | list[str] | None) -> list[str]:
    """The names of the classes: `names` (a list, or a file with one name per line); timm's
    ImageNet-1k descriptions for a 1000-class model; the class index otherwise."""
    source = "class_names"
    if isinstance(names, (str, Path)):
        source = str(names)
        names = [line.strip() for line in Path(names).read_text().splitlines() if line.strip()]
    if names is not None:
        if len(names) != num_classes:
            raise ValueError(f"{source}: {len(names)} names for a {num_classes}-class model")
        return [str(n) for n in names]
    if num_classes == 1000:
        from timm.data import ImageNetInfo
        info = ImageNetInfo()
        return [info.index_to_description(i) for i in range(num_classes)]
    return [str(i) for i in range(num_classes)]


def add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--model", choices=MODEL_NAMES, help="a released variant")
    group.add_argument("--cfg", help="or a yacs experiment config (MODEL.TYPE hrt)")
    parser.add_argument("--checkpoint", required=True,
                        help="weights in the released layout ({'model': state_dict, ...})")
