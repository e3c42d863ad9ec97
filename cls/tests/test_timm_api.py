"""timm's model interface, as timm's own tests/test_models.py checks it, on small inputs.

The registered variants run through `timm.create_model`; checks that need many passes use
the micro layout of the reference fixtures.
"""
from __future__ import annotations

import pytest
import timm
import torch
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

import models.timm_models  # noqa: F401  (registers hrformer_tiny/small/base)
from hrformer_common.testing import fixture
from models import HRFormerClassifier
from models.hrformer import HRFormerOptions, TransformerBlock, reparameterize_model

MICRO = fixture("cls_micro")


def micro(num_classes: int = 10, **options) -> HRFormerClassifier:
    torch.manual_seed(0)
    return HRFormerClassifier(MICRO["config"], num_classes, HRFormerOptions(**options))


def test_default_cfg_head_and_pooling():
    model = timm.create_model("hrformer_tiny").eval()
    cfg = model.default_cfg
    assert (model.num_classes, model.num_features, model.head_hidden_size) == (1000, 2048, 2048)
    state = model.state_dict()
    assert f"{cfg['classifier']}.weight" in state and f"{cfg['first_conv']}.weight" in state
    assert model.get_classifier() is model.classifier
    with torch.no_grad():
        features = model.forward_features(torch.randn(1, *cfg["input_size"]))
        assert features.shape == (1, 2048, *cfg["pool_size"])  # unpooled, stride 32
        x = torch.randn(1, 3, 64, 64)  # smaller from here on
        features = model.forward_features(x)
        pre_logits = model.forward_head(features, pre_logits=True)
        torch.testing.assert_close(pre_logits, features.mean(dim=(2, 3)))
        torch.testing.assert_close(model.forward_head(features), model.classifier(pre_logits))
        model.reset_classifier(0)
        assert model.num_classes == 0 and "classifier.weight" not in model.state_dict()
        torch.testing.assert_close(model(x), pre_logits)
        model.reset_classifier(0, "")
        torch.testing.assert_close(model(x), features)
        model.reset_classifier(5, "catavgmax")
        assert model(x).shape == (1, 5) and model.classifier.in_features == 4096
    headless = timm.create_model("hrformer_tiny", num_classes=0, global_pool="").eval()
    with torch.no_grad():
        assert headless(x).shape == (1, 2048, 2, 2)


def test_backward_reaches_every_parameter():
    model = micro(num_classes=42).train()
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 42)
    out.mean().backward()
    assert [n for n, p in model.named_parameters() if p.grad is None] == []


def test_grad_checkpointing_switches_the_core_and_keeps_values():
    model = micro()
    blocks = [m for m in model.modules() if isinstance(m, TransformerBlock)]
    x = torch.randn(2, 3, 64, 64)

    def output_and_grads() -> tuple:
        model.zero_grad()
        out = model.train()(x)
        out.square().mean().backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    plain, plain_grads = output_and_grads()
    model.set_grad_checkpointing()
    assert all(b.with_cp for b in blocks)
    checkpointed, grads = output_and_grads()
    torch.testing.assert_close(checkpointed, plain)
    for g, ref in zip(grads, plain_grads):
        torch.testing.assert_close(g, ref)
    model.set_grad_checkpointing(False)
    assert not any(b.with_cp for b in blocks)


def test_features_only_gives_the_four_branches():
    model = timm.create_model("hrformer_tiny", features_only=True).eval()
    assert model.feature_info.channels() == [18, 36, 72, 144]
    assert model.feature_info.reduction() == [4, 8, 16, 32]
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        outputs = model(x)
        branches = model.model.forward_branches(x)
    assert [tuple(o.shape) for o in outputs] == [(1, 18, 24, 24), (1, 36, 12, 12),
                                                 (1, 72, 6, 6), (1, 144, 3, 3)]
    assert all(torch.equal(o, b) for o, b in zip(outputs, branches))
    assert not hasattr(model.model, "final_layer")  # the classification head is pruned
    selected = timm.create_model("hrformer_tiny", features_only=True, out_indices=(1, 3))
    assert selected.feature_info.channels() == [36, 144]
    assert selected.feature_info.reduction() == [8, 32]


def test_feature_info_names_the_modules_that_make_each_branch():
    """Each `module` exists (timm's convention: the module whose output is the feature): the
    last stage-4 fusion into branch i, whose conv paths all end at that branch's width."""
    model = micro()
    names = [info["module"] for info in model.feature_info]
    assert len(set(names)) == len(names) == 4
    for info in model.feature_info:
        paths = model.get_submodule(info["module"])  # AttributeError for a missing module
        last_convs = [[m for m in path.modules() if isinstance(m, torch.nn.Conv2d)][-1]
                      for path in paths if not isinstance(path, torch.nn.Identity)]
        assert len(last_convs) == 3
        assert all(conv.out_channels == info["num_chs"] for conv in last_convs)


def test_forward_intermediates_and_index_errors():
    model = micro().eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        final, taken = model.forward_intermediates(x, indices=2)
        torch.testing.assert_close(final, model.forward_features(x))
    assert [t.shape[1] for t in taken] == [64, 128]
    with pytest.raises(ValueError, match="expected 1..4"):
        model.forward_intermediates(x, indices=5)
    with pytest.raises(ValueError, match="0..3"):
        model.forward_intermediates(x, indices=[0, 4])
    with pytest.raises(ValueError, match="NHWC"):
        model.forward_intermediates(x, output_fmt="NHWC")


def _fx(model: torch.nn.Module) -> torch.nn.Module:
    train_nodes, eval_nodes = get_graph_node_names(model)
    return create_feature_extractor(model, train_return_nodes=[train_nodes[-1]],
                                    eval_return_nodes=[eval_nodes[-1]])


@pytest.mark.parametrize("masked_padding", [False, True])
def test_fx_traced_model_matches_eager(masked_padding):
    """torch.fx tracing (timm's and torchvision's feature extractors); 60x52 needs padding."""
    model = micro(masked_padding=masked_padding).eval()
    x = torch.randn(1, 3, 60, 52)
    with torch.inference_mode():
        eager = model(x)
        traced = _fx(model)
        (out,) = traced(x).values()
    assert torch.equal(out, eager)
    graph = _fx(model).graph
    leaves = {n.target.__name__ for n in graph.nodes if n.op == "call_function"
              and hasattr(n.target, "__name__")}
    assert {"pad_to_windows", "crop_windows", "window_attention"} <= leaves


def test_fx_traced_model_trains():
    model = micro(num_classes=42).train()
    traced = _fx(model)
    (out,) = traced(torch.randn(2, 3, 64, 64)).values()
    out.mean().backward()
    assert out.shape == (2, 42)
    assert [n for n, p in traced.named_parameters() if p.grad is None] == []


def test_torchscript_matches_eager():
    """torch.jit.script of the whole classifier, and of its FX graph (timm's two script tests),
    on a size that needs window padding; and of the model folded for inference."""
    model = micro(masked_padding=True).eval()
    x = torch.randn(1, 3, 60, 52)
    scripted, scripted_graph = torch.jit.script(model), torch.jit.script(_fx(model))
    with torch.no_grad():
        eager = model(x)
        torch.testing.assert_close(scripted(x), eager)
        (out,) = scripted_graph(x).values()
        torch.testing.assert_close(out, eager)
        folded = reparameterize_model(model)
        torch.testing.assert_close(torch.jit.script(folded)(x), folded(x))
