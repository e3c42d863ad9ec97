"""The HRT backbone inside mmpose's top-down model: build, shapes, weights, reference outputs."""
from __future__ import annotations

import copy

import pytest
import torch
from conftest import build_model, extra_from_layout, layout_of
from hrformer_pose.backbone import HRT, core_config, local_norm_cfg
from hrformer_pose.checkpoint_keys import convert_official_state_dict
from hrformer_pose.hrformer import reparameterize_model
from hrformer_common.testing import assert_matches_reference, fixture, manifest, seeded_input
from mmengine.structures import InstanceData, PixelData
from mmpose.structures import PoseDataSample
from hrformer_pose.backbone import upsample_options
from hrformer_pose.hrformer import HRFormerOptions


@pytest.mark.parametrize("size", [(256, 192), (128, 96)])
def test_tensor_mode_gives_quarter_size_heatmaps(recipe_model, size):
    model = recipe_model("pose_micro")
    assert isinstance(model.backbone, HRT)
    with torch.no_grad():
        heatmaps = model(torch.randn(2, 3, *size), None, mode="tensor")
    assert heatmaps.shape == (2, 17, size[0] // 4, size[1] // 4)


def test_loss_mode_trains_backbone_and_head():
    model = build_model(fixture("pose_micro")["config"]).train()
    samples = []
    for _ in range(2):
        sample = PoseDataSample(metainfo=dict(input_size=(96, 128)))
        sample.gt_fields = PixelData(heatmaps=torch.rand(17, 32, 24))
        sample.gt_instance_labels = InstanceData(keypoint_weights=torch.ones(1, 17))
        samples.append(sample)
    losses = model(torch.randn(2, 3, 128, 96), samples, mode="loss")
    assert set(losses) == {"loss_kpt", "acc_pose"}
    losses["loss_kpt"].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.head.final_layer.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["pose_micro", "pose_hrt_small", "pose_hrt_base"])
def test_manifest_loads_strictly(recipe_model, name):
    keys = manifest(name)
    model = recipe_model(name)  # loads every recipe weight, only integer buffers missing
    expected = {k: tuple(shape) for k, shape, _ in keys["keys"]}
    expected = dict(zip(convert_official_state_dict(expected), expected.values()))
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected
    params = sum(p.numel() for m in (model.backbone, model.head) for p in m.parameters())
    assert params == keys["num_params"]


@pytest.mark.parametrize("folded", [False, True])
@pytest.mark.parametrize("name", ["pose_micro", "pose_hrt_small_256x192"])
def test_fixture_outputs_are_reproduced(recipe_model, name, folded):
    reference = fixture(name)
    model = recipe_model(reference["manifest"])
    if folded:  # a copy: the session's model stays unfolded
        model = reparameterize_model(copy.deepcopy(model))
        assert not [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for case in reference["cases"]:
        x = seeded_input(case["input_shape"])
        with torch.no_grad():
            feats = model.extract_feat(x)
            heatmaps = model.head.forward(feats)
        outputs = {"heatmaps": heatmaps, "feat0": feats[0]}
        for key, ref in case["outputs"].items():
            assert_matches_reference(outputs[key], ref, f"{name} {case['input_shape']} {key}")


def test_sync_bn_becomes_bn_without_process_group():
    assert local_norm_cfg(dict(type="SyncBN", requires_grad=True)) == dict(
        type="BN", requires_grad=True)
    assert local_norm_cfg(dict(type="GN", num_groups=2))["type"] == "GN"


def test_extra_errors_name_the_bad_key():
    extra = {k.lower(): v for k, v in _micro_extra().items()}
    with pytest.raises(ValueError, match="unknown keys \\['stage5'\\]"):
        core_config({**extra, "stage5": {}})
    bad = {**extra, "stage2": {**extra["stage2"], "block": "BASIC"}}
    with pytest.raises(ValueError, match="stage2.block='BASIC'"):
        core_config(bad)


def test_extra_options_reach_the_core():
    extra = _micro_extra()
    extra["stage4"] = {**extra["stage4"], "multiscale_output": True}
    model = HRT(extra={**extra, "with_rpe": True}, norm_eval=True).train()
    attention = model.stage2[0].branches[0][0].attn
    assert attention.use_bias and len(model.out_channels) == 4
    assert not model.bn1.training and model.stage2[0].branches[0][0].norm1.training


def test_config_defaults_are_the_pose_copy_preset():
    """Without with_rpe / upsample / multiscale_output the core gets the pose preset."""
    model = HRT(extra=_micro_extra())
    preset = HRFormerOptions.preset("pose")
    upsample = model.stage2[0].fuse_layers[0][1][-1]
    assert model.stage2[0].branches[0][0].attn.use_bias == preset.rel_pos_bias
    assert (upsample.mode, upsample.align_corners) == (preset.fuse_upsample_mode,
                                                       preset.align_corners)
    assert (len(model.out_channels) > 1) == preset.multiscale_output
    assert upsample_options({"align_corners": None}) == upsample_options(None) == {
        "fuse_upsample_mode": preset.fuse_upsample_mode, "align_corners": preset.align_corners}


def _micro_extra() -> dict:
    return extra_from_layout(layout_of("pose_micro"))


def test_default_init_is_the_originals():
    """Without a checkpoint: convs N(0, 0.001), norm weights 1; optional zeroed residual BN."""
    model = HRT(extra=_micro_extra(), zero_init_residual=True)
    model.init_weights()
    assert torch.all(model.layer1[0].bn3.weight == 0)
    assert torch.all(model.bn1.weight == 1)
    fc1 = model.stage2[0].branches[0][0].mlp.fc1.weight
    assert 0.0009 < fc1.std().item() < 0.0011
