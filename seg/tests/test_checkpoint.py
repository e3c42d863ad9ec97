"""Checkpoint loading: openseg files strictly, ImageNet initialisation non-strictly."""
import logging

import pytest
import torch

from conftest import build_for_manifest, micro_config, save_cls_checkpoint
from hrformer_common.testing import load_recipe_weights
from lib.models import build_backbone
from lib.segmentor.checkpoints import (IMAGENET_HEAD_PREFIXES, CheckpointError,
                                   load_imagenet_backbone, load_segmentor_checkpoint)

MICRO = "seg_micro_ocr_v2"


@pytest.fixture(scope="module")
def micro_state():
    """A full micro segmentor state dict (integer buffers included), as training saves it."""
    model = build_for_manifest(MICRO)
    load_recipe_weights(model, MICRO)
    return model.state_dict()


def test_openseg_checkpoint_with_module_prefix_loads(micro_state, tmp_path):
    path = tmp_path / "seg.pth"
    torch.save({"config_dict": {"iters": 10},
                "state_dict": {f"module.{k}": v for k, v in micro_state.items()}}, path)
    model = build_for_manifest(MICRO)
    load_segmentor_checkpoint(model, path)
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in micro_state.items())


@pytest.mark.parametrize("edit, expected", [
    (lambda s: s.pop("cls_head.bias"), "1 missing (cls_head.bias)"),
    (lambda s: s.__setitem__("head.extra", torch.zeros(1)), "1 unexpected (head.extra)"),
    (lambda s: s.__setitem__("cls_head.bias", torch.zeros(7)),
     "cls_head.bias: checkpoint (7,) vs model (19,)"),
])
def test_strict_load_names_the_bad_key_and_file(micro_state, tmp_path, edit, expected):
    state = dict(micro_state)
    edit(state)
    path = tmp_path / "bad.pth"
    torch.save({"state_dict": state}, path)
    with pytest.raises(CheckpointError) as err:
        load_segmentor_checkpoint(build_for_manifest(MICRO), path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_checkpoint_without_state_dict_entry_is_rejected(micro_state, tmp_path):
    path = tmp_path / "raw.pth"
    torch.save({"weights": micro_state}, path)
    with pytest.raises(CheckpointError, match="raw.pth: expected a 'state_dict' or 'model' entry"):
        load_segmentor_checkpoint(build_for_manifest(MICRO), path)


def test_imagenet_init_into_win15_resizes_tables_and_logs_skipped_head(tmp_path, caplog):
    path = tmp_path / "hrt_base.pth"
    source = save_cls_checkpoint("cls_hrt_base", path)
    backbone = build_backbone("hrt_base_win15")
    with caplog.at_level(logging.INFO, logger="lib.segmentor.checkpoints"):
        report = load_imagenet_backbone(backbone, path)

    backbone_keys = set(backbone.state_dict())
    assert report.missing == []
    assert report.skipped and all(k.startswith(IMAGENET_HEAD_PREFIXES) for k in report.skipped)
    assert {k.split(".")[0] for k in report.skipped} == {p[:-1] for p in IMAGENET_HEAD_PREFIXES}
    rebuilt = {k for k in backbone_keys if k.endswith("relative_position_index")}
    assert set(report.loaded) == backbone_keys - rebuilt  # the model keeps its own indices

    loaded = backbone.state_dict()
    tables = [k for k in loaded if k.endswith("relative_position_bias_table")]
    assert sorted(report.resized) == sorted(tables)
    assert all(loaded[k].shape[0] == (2 * 15 - 1) ** 2 for k in tables)
    assert all(torch.equal(loaded[k], v) for k, v in source.items()
               if k in backbone_keys and k not in tables and v.is_floating_point())
    assert "classifier.weight" in caplog.text and "incre_modules.0.0.conv1.weight" in caplog.text
    assert "outside the classification head" not in caplog.text and report.unexpected == []


def test_imagenet_init_rejects_a_checkpoint_of_another_width(tmp_path):
    path = tmp_path / "micro.pth"
    save_cls_checkpoint("cls_micro", path)
    report = load_imagenet_backbone(build_backbone(micro_config()), path)  # same layout: fits
    assert report.missing == [] and report.resized == []
    with pytest.raises(CheckpointError, match=r"micro\.pth: .*760 shape mismatches \("
                                              r"transition1\.0\.0\.weight: checkpoint \(16, 256, "
                                              r"3, 3\) vs model \(32, 256, 3, 3\)"):
        load_imagenet_backbone(build_backbone("hrt_small"), path)
