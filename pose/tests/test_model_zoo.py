"""Checkpoints by URL and mmpose's model-zoo names (hrformer_pose/model_zoo.py): a name finds
its config and downloads its weights once into torch's cache (from a loopback server here),
the sha256 prefix of the file name checked; the four names are docs/mmpose_models.md's."""
from __future__ import annotations

import hashlib
import runpy
from pathlib import Path
from urllib.parse import urlparse

import cv2
import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG, POSE, checkpoint_bytes, data_options, seeded_weights
from demo import inferencer_demo
from hrformer_common.hub import DownloadError, hash_prefix
from hrformer_pose.apis import PoseInferencer
from hrformer_pose.checkpoint_keys import to_official_state_dict
from hrformer_pose.mmpose_layout import to_mmpose_layout
from hrformer_pose.model_zoo import MMPOSE_OPTIONS, MODEL_ZOO, ZooModel, resolve_model
from mmengine.config import Config
from mmpose.apis import init_model

ZOO_DOC = POSE / "docs" / "mmpose_models.md"
IMAGE = np.random.default_rng(0).integers(0, 255, (120, 90, 3), dtype=np.uint8)


def test_the_four_names_are_mmposes_checkpoints_of_our_configs(tmp_path):
    assert sorted(MODEL_ZOO) == ["hrt_base_coco_256x192", "hrt_base_coco_384x288",
                                 "hrt_small_coco_256x192", "hrt_small_coco_384x288"]
    doc = ZOO_DOC.read_text()
    for name, zoo in MODEL_ZOO.items():
        file_name = Path(urlparse(zoo.url).path).name
        assert zoo.config.stem == name and zoo.config.is_file() and zoo.url in doc
        assert hash_prefix(file_name) == file_name.split("-")[1][:8]  # checked on download
        cfg, checkpoint = resolve_model(name, None)
        assert checkpoint == zoo.url and cfg.model.backbone.extra.with_rpe is True
        assert resolve_model(name, tmp_path / "copy.pth")[1] == str(tmp_path / "copy.pth")
    cfg, checkpoint = resolve_model(str(DEMO_CONFIG), None)  # a file is a config, as it is
    assert checkpoint is None and "with_rpe" not in cfg.model.backbone.extra
    with pytest.raises(FileNotFoundError, match="'hrt_smal': no such config file, and not a "
                                                "model-zoo name .*hrt_small_coco_256x192"):
        resolve_model("hrt_smal", None)


def zoo_file(state: dict[str, torch.Tensor], tag: str) -> tuple[str, bytes]:
    """A file as mmpose's zoo publishes them: fused qkv, `keypoint_head.*`, and the name
    `<tag>-<sha256 prefix>_<date>.pth`."""
    data = checkpoint_bytes(to_official_state_dict(to_mmpose_layout(state)))
    return f"{tag}-{hashlib.sha256(data).hexdigest()[:8]}_20220316.pth", data


@pytest.fixture(scope="module")
def zoo_weights() -> dict[str, torch.Tensor]:
    """Seeded weights of the demo network with the relative position bias, as mmpose's."""
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict(MMPOSE_OPTIONS)
    return seeded_weights(init_model(cfg, None, device="cpu"))


def test_a_name_downloads_its_weights_once_and_runs_them_as_trained(
        zoo_weights, http_server, hub_cache, monkeypatch, tmp_path, capsys):
    name, data = zoo_file(zoo_weights, "tiny_coco")
    http_server.files[f"/zoo/{name}"] = data
    monkeypatch.setitem(MODEL_ZOO, "tiny_coco",
                        ZooModel(DEMO_CONFIG, f"{http_server.url}/zoo/{name}"))
    pose = PoseInferencer("tiny_coco")
    assert http_server.requests == [f"/zoo/{name}"] and (hub_cache / name).read_bytes() == data
    heatmaps = pose.forward(pose.preprocess(IMAGE))

    local = tmp_path / "copy.pth"
    local.write_bytes(data)
    with_bias = Config.fromfile(DEMO_CONFIG)
    with_bias.merge_from_dict(MMPOSE_OPTIONS)
    same = PoseInferencer(with_bias, local)
    assert torch.equal(same.forward(same.preprocess(IMAGE)), heatmaps)
    without = PoseInferencer(DEMO_CONFIG, local)  # the config file alone: no bias added
    assert not torch.allclose(without.forward(without.preprocess(IMAGE)), heatmaps)

    PoseInferencer("tiny_coco")  # the cached file
    image = tmp_path / "image.png"
    cv2.imwrite(str(image), IMAGE[:, :, ::-1])
    assert inferencer_demo.main([str(image), "--model", "tiny_coco", "--out",
                                 str(tmp_path / "out"), "--threads", "1"]) == 0
    assert (tmp_path / "out" / "image.json").is_file()
    assert len(http_server.requests) == 1
    with pytest.raises(SystemExit):
        inferencer_demo.main([str(image), "--model", str(DEMO_CONFIG), "--out",
                              str(tmp_path / "out2")])
    assert "--checkpoint is needed unless --model is a model-zoo name" in capsys.readouterr().err


def test_a_zoo_file_whose_hash_prefix_differs_is_refused(zoo_weights, http_server, hub_cache,
                                                          monkeypatch):
    name, data = zoo_file(zoo_weights, "tiny_coco")
    wrong = name.replace(name.split("-")[1][:8], "0" * 8 if name.split("-")[1][0] != "0"
                         else "1" * 8)
    http_server.files[f"/{wrong}"] = data
    monkeypatch.setitem(MODEL_ZOO, "tiny_coco",
                        ZooModel(DEMO_CONFIG, f"{http_server.url}/{wrong}"))
    with pytest.raises(DownloadError, match=rf"{wrong}: sha256 of the download is"):
        PoseInferencer("tiny_coco")
    assert not hub_cache.exists() or not any(hub_cache.iterdir())


def test_tools_test_evaluates_a_checkpoint_url(zoo_weights, stick_data, http_server,
                                               hub_cache, tmp_path):
    name, data = zoo_file(zoo_weights, "tiny_coco")
    http_server.files[f"/{name}"] = data
    (tmp_path / "copy.pth").write_bytes(data)
    test = runpy.run_path(str(POSE / "tools" / "test.py"))
    options = ["--cfg-options", *(f"{k}={v}" for k, v in data_options(stick_data).items())]
    metrics = [test["main"]([str(DEMO_CONFIG), checkpoint, "--work-dir",
                             str(tmp_path / f"work{i}"), *options])
               for i, checkpoint in enumerate((f"{http_server.url}/{name}",
                                               str(tmp_path / "copy.pth")))]
    assert metrics[0] == metrics[1]  # the same weights as the local copy's
    assert http_server.requests == [f"/{name}"] and (hub_cache / name).read_bytes() == data
