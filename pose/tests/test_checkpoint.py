"""Official (mmpose 0.x) checkpoints <-> this package, and backbone initialisation."""
from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from conftest import extra_from_layout, layout_of, model_config
from hrformer_pose.checkpoint_keys import convert_official_state_dict, to_official_state_dict
from hrformer_common.testing import manifest, recipe_state_dict
from mmpose.apis import init_model
from mmpose.registry import MODELS
from yacs.config import CfgNode


@pytest.fixture(scope="module")
def official_micro() -> dict[str, torch.Tensor]:
    return recipe_state_dict(manifest("pose_micro")["keys"])


def test_round_trip_restores_official_names(official_micro):
    ours = convert_official_state_dict(official_micro)
    assert "head.final_layer.weight" in ours and not any("keypoint_head" in k for k in ours)
    back = to_official_state_dict(ours)
    assert list(back) == list(official_micro)
    assert all(back[k] is official_micro[k] for k in official_micro)


def test_conversion_rejects_unknown_keys():
    with pytest.raises(KeyError, match="keypoint_head.deconv_layers.0.weight"):
        convert_official_state_dict({"keypoint_head.deconv_layers.0.weight": torch.zeros(1)})
    with pytest.raises(KeyError, match="'neck.x'"):
        convert_official_state_dict({"neck.x": torch.zeros(1)})


@pytest.mark.parametrize("module_version", [None, 1])
def test_init_model_loads_official_checkpoint(tmp_path, official_micro, module_version):
    """As saved by mmcv 1.x (state-dict metadata with module versions) or as a plain dict."""
    state_dict = OrderedDict(official_micro)
    if module_version is not None:
        state_dict._metadata = OrderedDict({"": {"version": module_version}})
    path = tmp_path / "official.pth"
    torch.save({"meta": {}, "state_dict": state_dict}, path)
    model = init_model(model_config(layout_of("pose_micro")), str(path), device="cpu")
    state = model.state_dict()
    for key, value in convert_official_state_dict(official_micro).items():
        assert torch.equal(state[key], value), key


def test_backbone_initialises_from_imagenet_checkpoint(tmp_path, official_micro):
    """The cls layout: {"model": backbone + classifier keys, "config": yacs CfgNode, ...}."""
    backbone = {k.removeprefix("backbone."): v for k, v in official_micro.items()
                if k.startswith("backbone.")}
    config = CfgNode({"MODEL": CfgNode({"NAME": "hrt_micro"})})
    path = tmp_path / "imagenet.pth"
    torch.save({"model": {**backbone, "classifier.weight": torch.zeros(10, 4)},
                "config": config, "epoch": 3}, path)
    extra = extra_from_layout(layout_of("pose_micro"))
    model = MODELS.build(dict(type="HRT", extra=extra, pretrained=str(path)))
    model.init_weights()
    state = model.state_dict()
    for key, value in backbone.items():
        assert torch.equal(state[key], value), key
