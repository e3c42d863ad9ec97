"""The classifiers against the reference manifests and fixtures (recipe weights, eval mode)."""
from __future__ import annotations

import pytest
import torch

from models import HRFormerClassifier, create_model
from hrformer_common.testing import (assert_matches_reference, fixture, load_recipe_weights, manifest,
                              seeded_input)
from models.hrformer import DropPath, HRFormerOptions, LocalWindowAttention, reparameterize_model

MICRO = fixture("cls_micro")
MANIFESTS = ("cls_hrt_tiny", "cls_hrt_small", "cls_hrt_base", "cls_micro")
ATTENTION = ("sdpa", "math")


def build(manifest_name: str, attention: str = "sdpa") -> HRFormerClassifier:
    """The model a manifest describes (the micro layout comes from its fixture)."""
    if manifest_name == "cls_micro":
        options = HRFormerOptions(attention=attention)
        return HRFormerClassifier(MICRO["config"], MICRO["num_classes"], options)
    return create_model(manifest_name.removeprefix("cls_"), attention=attention)


def reference_model(manifest_name: str, attention: str, folded: bool = False
                    ) -> HRFormerClassifier:
    """The recipe-weight model in eval mode; `folded`: through `reparameterize_model`."""
    model = build(manifest_name, attention)
    load_recipe_weights(model, manifest_name)
    return reparameterize_model(model) if folded else model.eval()


@pytest.mark.parametrize("manifest_name", MANIFESTS)
def test_architecture_matches_manifest(manifest_name: str) -> None:
    model = build(manifest_name)
    expected = manifest(manifest_name)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert set(shapes) == {name for name, _, _ in expected["keys"]}
    assert shapes == {name: shape for name, shape, _ in expected["keys"]}
    assert sum(p.numel() for p in model.parameters()) == expected["num_params"]
    load_recipe_weights(model, manifest_name)


@pytest.mark.parametrize("folded", [False, True])
@pytest.mark.parametrize("attention", ATTENTION)
def test_micro_fixture(attention: str, folded: bool) -> None:
    model = reference_model("cls_micro", attention, folded)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert (norms == []) == folded  # folded: none left, the head's included
    for case in MICRO["cases"]:
        x = seeded_input(case["input_shape"])
        with torch.no_grad():
            features = model.forward_branches(x)
            logits = model.forward_head(model.fuse_branches(features))
            assert_matches_reference(model(x), logits, "forward vs forward_head")
        shape = case["input_shape"]
        outputs = {"logits": logits, **{f"feat{i}": f for i, f in enumerate(features)}}
        assert set(outputs) == set(case["outputs"])
        for name, ref in case["outputs"].items():
            assert_matches_reference(outputs[name], ref, f"{name} at {shape}")


@pytest.mark.parametrize("attention,folded", [("sdpa", False), ("math", False), ("sdpa", True)])
def test_hrt_small_fixture(attention: str, folded: bool) -> None:
    reference = fixture("cls_hrt_small_224")
    assert reference["manifest"] == "cls_hrt_small"
    model = reference_model("cls_hrt_small", attention, folded)
    for case in reference["cases"]:
        with torch.no_grad():
            logits = model(seeded_input(case["input_shape"]))
        assert_matches_reference(logits, case["outputs"]["logits"], "logits")


def test_create_model_rejects_unknown_names_and_options() -> None:
    with pytest.raises(KeyError, match="hrt_huge"):
        create_model("hrt_huge")
    with pytest.raises(TypeError, match="rel_pos_bias"):
        create_model("hrt_tiny", rel_pos_bias=False)


def test_create_model_options_reach_the_backbone() -> None:
    model = create_model("hrt_tiny", num_classes=10, drop_path_rate=0.3, attention="math")
    rates = [m.p for m in model.modules() if isinstance(m, DropPath)]
    assert max(rates) == pytest.approx(0.3) and min(rates) == 0.0
    assert model.classifier.out_features == 10
    assert {m.attention for m in model.modules() if isinstance(m, LocalWindowAttention)} == {"math"}
