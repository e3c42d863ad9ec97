"""What the cls export / predict / benchmark tools share: the classifier from a checkpoint in
the released layout, and the runtime flags. The model is loaded in one place
(`load_classifier`) through the cls checkpoint loader."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from torch import nn

CLS_ROOT = Path(__file__).resolve().parents[1]
if str(CLS_ROOT) not in sys.path:
    sys.path.insert(0, str(CLS_ROOT))

from models import MODEL_NAMES, HRFormerClassifier, build_model, create_model  # noqa: E402
from models.hrformer import reparameterize_model  # noqa: E402
from hrformer_common.checkpoint import load_checkpoint, load_weights, state_dict_of  # noqa: E402
from hrformer_common.model_card import ModelCard  # noqa: E402
from hrformer_common.runtime import add_runtime_args  # noqa: E402,F401  (re-exported)

OUTPUT_NAMES = ("logits",)
INPUT_LAYOUT = "NCHW float32 RGB, ImageNet mean/std (main.py's evaluation transform)"


def load_classifier(model_name: str | None, checkpoint: str, cfg: str | None = None) -> nn.Module:
    """The classifier named `model_name` (or described by a yacs `cfg`) with the weights of a
    released-layout checkpoint (`{"model": ...}` or a bare state dict), in eval mode, not yet
    folded (see `inference_model`). The class count comes from the checkpoint's
    `classifier.weight`."""
    state = state_dict_of(load_checkpoint(checkpoint), checkpoint)
    if "classifier.weight" not in state:
        raise KeyError(f"{checkpoint}: no 'classifier.weight' (not a classifier checkpoint)")
    num_classes = state["classifier.weight"].shape[0]
    if cfg is not None:
        from config import load_config
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
    """What export and predict run: the loaded classifier folded for inference
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


def add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--model", choices=MODEL_NAMES, help="a released variant")
    group.add_argument("--cfg", help="or a yacs experiment config (MODEL.TYPE hrt)")
    parser.add_argument("--checkpoint", required=True,
                        help="weights in the released layout ({'model': state_dict, ...})")


def eval_transform(cfg: str | None, input_size: int):
    """The evaluation transform of main.py (resize, centre crop, ImageNet normalisation) for
    the yacs config, or for the defaults at `input_size`."""
    from config import default_config, load_config
    from data.build import build_transform
    if cfg is not None:
        return build_transform(load_config(cfg), is_train=False)
    config = default_config()
    config.DATA.IMG_SIZE = input_size
    return build_transform(config, is_train=False)
