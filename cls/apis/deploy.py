"""The classifier a checkpoint describes, as inference, export and the benchmark need it, and
the command-line flags that name it. The model is loaded in one place (`load_classifier`)
through the cls checkpoint loader."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from torch import nn

from config import default_config, load_config
from data.build import build_transform
from hrformer_common.checkpoint import (CheckpointError, load_checkpoint, load_weights,
                                        state_dict_of)
from hrformer_common.model_card import ModelCard
from models import MODEL_NAMES, HRFormerClassifier, build_model, create_model
from models.hrformer import reparameterize_model

OUTPUT_NAMES = ("logits",)
IMAGENET_CLASSES = 1000
INPUT_LAYOUT = "NCHW float32 RGB, ImageNet mean/std (main.py's evaluation transform)"


def resolve_model(model: str) -> tuple[str | None, str | None]:
    """(variant name, None) for a released variant, (None, config path) for a yacs file."""
    if model in MODEL_NAMES:
        return model, None
    if Path(model).suffix in (".yaml", ".yml"):
        if not Path(model).is_file():
            raise FileNotFoundError(f"config {model}: no such file")
        return None, model
    raise ValueError(f"model {model!r}: expected one of {list(MODEL_NAMES)} or a yacs config "
                     "file (.yaml)")


def load_classifier(model: str, checkpoint: str) -> tuple[HRFormerClassifier, list[str]]:
    """The classifier `model` names (a released variant, or a yacs config file) with the
    weights of a released-layout checkpoint (`{"model": ...}` or a bare state dict, a file or a
    URL), in eval mode, not yet folded (see `inference_model`), and the class names the
    checkpoint stores (main.py stores the image folders'; empty for the released files). The
    class count comes from the checkpoint's `classifier.weight`."""
    variant, cfg = resolve_model(model)
    content = load_checkpoint(checkpoint)
    state = state_dict_of(content, checkpoint)
    if "classifier.weight" not in state:
        raise CheckpointError(f"{checkpoint}: no 'classifier.weight' (not a classifier "
                              "checkpoint)")
    num_classes = state["classifier.weight"].shape[0]
    if cfg is not None:
        classifier = build_model(load_config(cfg, ["MODEL.NUM_CLASSES", str(num_classes)]))
    else:
        classifier = create_model(variant, num_classes)
    if not isinstance(classifier, HRFormerClassifier):
        raise ValueError(f"{cfg}: not an HRFormer classifier (MODEL.TYPE must be 'hrt')")
    load_weights(classifier, state, checkpoint)
    return classifier.eval(), stored_class_names(content, num_classes, checkpoint)


def stored_class_names(content: dict, num_classes: int, source: str) -> list[str]:
    """The checkpoint's `class_names` (a list of str, one per class), or [] without them."""
    names = content.get("class_names")
    if names is None:
        return []
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names) \
            or len(names) != num_classes:
        raise CheckpointError(f"{source}: 'class_names' must be {num_classes} strings (one "
                              f"per class of its classifier), got {str(names)[:80]}")
    return list(names)


def inference_model(model: str, checkpoint: str, *, input_size: tuple[int, int] | None = None,
                    device: str = "cpu") -> tuple[nn.Module, ModelCard]:
    """What export and inference run: the loaded classifier folded for inference
    (`reparameterize_model`: BatchNorm folded once, refuses training), on `device`, and its
    model card, taken before the fold (the checkpoint's own values); `input_size` None: the
    card allows any size."""
    classifier, names = load_classifier(model, checkpoint)
    card = model_card(classifier, model, input_size, names)
    return reparameterize_model(classifier).to(device), card


def model_card(classifier: HRFormerClassifier, model: str, input_size: tuple[int, int] | None,
               names: Sequence[str] = ()) -> ModelCard:
    """The card of a loaded classifier (before folding), as export writes it and a run with
    an exported file checks it; `input_size` None: any size; `names`: the checkpoint's class
    names, else timm's ImageNet-1k descriptions for 1000 classes, else none."""
    num_classes = classifier.classifier.out_features
    labels = names or (class_names(num_classes, None) if num_classes == IMAGENET_CLASSES else ())
    return ModelCard.of(classifier, task="cls", variant=Path(model).stem,
                        num_classes=num_classes, outputs=OUTPUT_NAMES, labels=labels,
                        input_layout=INPUT_LAYOUT,
                        input_size=None if input_size is None else
                        f"{input_size[0]}x{input_size[1]}")


def eval_transform(model: str, input_size: int):
    """The evaluation transform of main.py (resize, centre crop, ImageNet normalisation) for
    a yacs config `model`, or for the defaults at `input_size` (a variant name); it takes a
    PIL image."""
    _, cfg = resolve_model(model)
    if cfg is not None:
        return build_transform(load_config(cfg), is_train=False)
    config = default_config()
    config.DATA.IMG_SIZE = input_size
    return build_transform(config, is_train=False)


def class_names(num_classes: int, names: str | Path | Sequence[str] | None) -> list[str]:
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
    if num_classes == IMAGENET_CLASSES:
        from timm.data import ImageNetInfo
        info = ImageNetInfo()
        return [info.index_to_description(i) for i in range(num_classes)]
    return [str(i) for i in range(num_classes)]


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--model and --checkpoint, as in pose's and seg's commands (`--cfg`: the old name)."""
    parser.add_argument("--model", "--cfg", required=True, metavar="NAME_OR_YAML",
                        help=f"a released variant ({', '.join(MODEL_NAMES)}) or a yacs "
                             "experiment config (MODEL.TYPE hrt)")
    parser.add_argument("--checkpoint", required=True,
                        help="weights in the released layout ({'model': state_dict, ...})")
