"""Checkpoints and runs as a user meets them: code-running pickles refused by every loader,
a checkpoint of another variant named, a kill during a save, a stopped rank."""
from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import time

import hrformer_pose.datasets
import pytest
import torch
from conftest import DEMO_CONFIG, POSE, TEST_CONFIG, build_model, data_options, layout_of
from hrformer_pose.checkpoint_keys import convert_official_state_dict
from hrformer_pose.config_check import ConfigError
from hrformer_pose.datasets import AnnotationError
from hrformer_common.checkpoint import CheckpointError, load_checkpoint
from hrformer_common.testing import manifest, recipe_state_dict
from hrformer_common.testing.stall import EXPECTED, TIMEOUT_S, stop_rank_1_and_wait
from mmengine.config import Config
from mmengine.runner import CheckpointLoader, load_state_dict
from mmpose.apis import init_model
from mmpose.registry import DATASETS, MODELS

TOOLS = POSE / "tools"
TRAIN = runpy.run_path(str(TOOLS / "train.py"))
TEST = runpy.run_path(str(TOOLS / "test.py"))
CONVERT = runpy.run_path(str(TOOLS / "convert_official_checkpoint.py"))
MICRO = "pose_micro"


class RunsCode:
    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _options(root, **extra) -> list[str]:
    options = {**data_options(root), "model.backbone.init_cfg._delete_": True,
               "model.backbone.init_cfg.type": "Kaiming",
               "model.backbone.init_cfg.layer": "Conv2d",
               "train_dataloader.dataset.indices": 2, **extra}
    return ["--cfg-options", *(f"{k}={v}" for k, v in options.items())]


def test_every_loader_refuses_a_code_running_pickle(tmp_path, stick_data):
    marker = tmp_path / "code_ran"
    evil = tmp_path / "evil.pth"
    torch.save({"meta": {}, "state_dict": {}, "hook": RunsCode(marker)}, evil)
    refused = r"refusing to load .*evil\.pth.*weights-only.*posix\.system"
    run = [str(DEMO_CONFIG), "--work-dir", str(tmp_path / "w"), "--no-validate"]
    loaders = {
        "init_model": lambda: init_model(str(TEST_CONFIG), str(evil), device="cpu"),
        "tools/test.py": lambda: TEST["main"]([str(DEMO_CONFIG), str(evil), "--work-dir",
                                               str(tmp_path / "t"), *_options(stick_data)]),
        "--resume": lambda: TRAIN["main"]([*run, "--resume", str(evil), *_options(stick_data)]),
        "--load-from": lambda: TRAIN["main"]([*run, "--load-from", str(evil),
                                              *_options(stick_data)]),
        "backbone init_cfg": lambda: MODELS.build(dict(
            type="HRT", extra=init_model(str(TEST_CONFIG), device="cpu").cfg.model.backbone.extra,
            init_cfg=dict(type="Pretrained", checkpoint=str(evil)))).init_weights(),
        "convert tool": lambda: CONVERT["convert"](str(evil), str(tmp_path / "out.pth")),
    }
    for name, load in loaders.items():
        with pytest.raises(CheckpointError, match=refused):
            load()
        assert not marker.exists(), name


def test_checkpoint_of_another_variant_is_an_error_naming_the_file(tmp_path):
    """hrt_base weights for an hrt_small config: one error, not 1,765 warnings and AP 0."""
    path = tmp_path / "hrt_base_coco_256x192.pth"
    base = convert_official_state_dict(recipe_state_dict(manifest("pose_hrt_base")["keys"]))
    torch.save({"meta": {}, "state_dict": base}, path)
    with pytest.raises(CheckpointError, match=r"hrt_base_coco_256x192\.pth: 0 tensors loaded; "
                                              r"\d{3,} shape mismatches \(backbone\.") as err:
        init_model(str(TEST_CONFIG), str(path), device="cpu")
    assert "does not fit HRT" in str(err.value)


def test_checkpoints_read_in_turn_each_name_their_own_file(tmp_path):
    """The file's name travels with its weights: two files read one after the other, then
    loaded, each error names its own file (not the one read last)."""
    micro = convert_official_state_dict(recipe_state_dict(manifest(MICRO)["keys"]))
    small = convert_official_state_dict(recipe_state_dict(manifest("pose_hrt_small")["keys"]))
    micro["backbone.conv1.weight"] = torch.zeros(1, 3, 3, 3)
    files = {tmp_path / "small.pth": (small, r"\d{3,}"), tmp_path / "one_off.pth": (micro, "1")}
    read = {}
    for path, (state, _) in files.items():
        torch.save({"meta": {}, "state_dict": state}, path)
        read[path] = CheckpointLoader.load_checkpoint(str(path))
    model = build_model(layout_of(MICRO))
    for path, (_, count) in files.items():
        with pytest.raises(CheckpointError, match=rf"{re.escape(str(path))}: 0 tensors "
                                                  rf"loaded; {count} shape mismatches"):
            load_state_dict(model, read[path]["state_dict"])


# tools/train.py with the shared writer's file object stalling halfway through the second
# .pth it writes (the first, epoch_1.pth, completes), so the test can kill -9 mid-save.
HANG_IN_SECOND_SAVE = """
import io, runpy, sys, time
import hrformer_common.atomic as atomic
saves = []
class Stalling(io.FileIO):
    def write(self, data):
        if len(saves) == 2:
            super().write(data[:len(data) // 2]); open(marker, "w").close(); time.sleep(600)
        return super().write(data)
def opener(path, mode):
    saves.append(path) if ".pth" in str(path) else None
    return Stalling(path, "w")
atomic.open = opener
marker, sys.argv = sys.argv[1], sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_kill_during_a_save_keeps_the_previous_checkpoint(tmp_path, stick_data):
    """The demo's max_keep_ckpts=1: the old file stays until the new one is complete."""
    marker, work = tmp_path / "in_save", tmp_path / "work"
    args = [str(DEMO_CONFIG), "--work-dir", str(work), "--no-validate",
            *_options(stick_data, **{"train_cfg.max_epochs": 2,
                                     "default_hooks.checkpoint.interval": 1})]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    process = subprocess.Popen([sys.executable, "-c", HANG_IN_SECOND_SAVE, str(marker),
                                str(TOOLS / "train.py"), *args], cwd=POSE, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        while not marker.exists():
            assert process.poll() is None and time.time() < deadline, process.stdout.read()
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_1.pth"]
    assert (work / "last_checkpoint").read_text() == str(work / "epoch_1.pth")
    assert load_checkpoint(work / "epoch_1.pth")["meta"]["epoch"] == 1
    assert list(work.glob(".epoch_2.pth.tmp-*"))  # the partial file, under a temp name

    TRAIN["main"]([*args, "--resume"])  # resumes from epoch 1 and completes epoch 2
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_2.pth"]
    assert not list(work.glob(".*tmp*"))
    assert (work / "last_checkpoint").read_text() == str(work / "epoch_2.pth")


def test_a_stopped_rank_fails_the_run_within_the_timeout(tmp_path, stick_data):
    work = tmp_path / "work"
    command = [sys.executable, str(TOOLS / "train.py"), str(DEMO_CONFIG), "--work-dir",
               str(work), "--no-validate", "--launcher", "pytorch",
               *_options(stick_data, **{"train_cfg.max_epochs": 500,
                                        "train_dataloader.batch_size": 1,
                                        "default_hooks.logger.interval": 1,
                                        "default_hooks.checkpoint.interval": 1000})]
    code, output, elapsed = stop_rank_1_and_wait(
        command, POSE, lambda: any("Epoch(train)" in p.read_text() for p in work.rglob("*.log")))
    assert code != 0, output[-3000:]
    assert elapsed < 10 * TIMEOUT_S, elapsed  # the timeout, the probe, the exit
    assert EXPECTED in output, output[-3000:]


@pytest.mark.parametrize("option, expected", [
    ("default_hooks.checkpoint.intervall=1",
     r"default_hooks\.checkpoint\.intervall is not an argument of AtomicCheckpointHook; "
     r"did you mean 'interval'\?"),
    ("train_cfg.max_epochs=abc",
     r"--cfg-options train_cfg\.max_epochs=abc: expected int \(the config has "
     rf"{Config.fromfile(DEMO_CONFIG).train_cfg.max_epochs}\)"),
])
def test_config_mistakes_fail_at_start_naming_the_key(tmp_path, option, expected):
    with pytest.raises(ConfigError, match=expected):
        TRAIN["main"]([str(DEMO_CONFIG), "--work-dir", str(tmp_path), "--cfg-options", option])
    assert not (tmp_path / "last_checkpoint").exists()


def test_mistyped_top_level_key_in_a_config_is_refused(tmp_path):
    config = tmp_path / "typo.py"
    config.write_text(f"_base_ = [{str(DEMO_CONFIG)!r}]\ntrain_cfgg = dict(max_epochs=1)\n")
    with pytest.raises(ConfigError, match=r"typo\.py: top-level key 'train_cfgg' is not a "
                                          r"Runner setting .*did you mean 'train_cfg'\?"):
        TRAIN["main"]([str(config), "--work-dir", str(tmp_path)])


def _copy_with_edited_annotation(stick_data, tmp_path, edit):
    root = tmp_path / "data"
    shutil.copytree(stick_data, root)
    path = root / "annotations" / "train.json"
    coco = json.loads(path.read_text())
    edit(coco["annotations"][1])
    path.write_text(json.dumps(coco))
    return root, path, coco["annotations"][1]["id"]


def test_malformed_annotation_names_the_file_and_id(tmp_path, stick_data):
    root, path, ann_id = _copy_with_edited_annotation(
        stick_data, tmp_path, lambda ann: ann.__setitem__("keypoints", ann["keypoints"][:48]))
    with pytest.raises(AnnotationError, match=rf"{path}: annotation id {ann_id} \(image \d+\) "
                                              r"has 48 keypoint values; expected 51"):
        TRAIN["main"]([str(DEMO_CONFIG), "--work-dir", str(tmp_path / "w"), "--no-validate",
                       *_options(root)])


def test_annotation_without_bbox_is_skipped_and_counted(tmp_path, stick_data, monkeypatch):
    logged = []
    monkeypatch.setattr(hrformer_pose.datasets, "print_log", lambda msg, **_: logged.append(msg))
    root, path, _ = _copy_with_edited_annotation(stick_data, tmp_path,
                                                 lambda ann: ann.pop("bbox"))
    cfg = Config.fromfile(DEMO_CONFIG)
    cfg.merge_from_dict({k: v for k, v in data_options(root).items()
                         if k.startswith("train_dataloader.dataset.")})
    full = len(json.loads((stick_data / "annotations" / "train.json").read_text())["annotations"])
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == full - 1
    assert logged == [f"{path}: skipped 1 annotations without 'bbox' or 'keypoints' (mmpose's "
                      "convention)"]


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs, nothing more is saved."""


@pytest.mark.parametrize("workers", [0, 2])
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, stick_data,
                                                                 monkeypatch, workers):
    """3 epochs with validation; killed in epoch 3, resumed from epoch 2's checkpoint."""
    from mmengine.runner.loops import EpochBasedTrainLoop

    def train(work, *extra):
        TRAIN["main"]([str(DEMO_CONFIG), "--work-dir", str(work), "--seed", "7", *extra,
                       *_options(stick_data, **{
                           "train_cfg.max_epochs": 3, "train_cfg.val_interval": 1,
                           "default_hooks.checkpoint.interval": 1,
                           "default_hooks.checkpoint.save_best": None,
                           "train_dataloader.num_workers": workers,
                           "train_dataloader.dataset.indices": 4})])

    train(tmp_path / "straight")
    run_iter = EpochBasedTrainLoop.run_iter

    def dies_in_epoch_3(self, idx, batch):
        if self._epoch == 2:
            raise Killed
        return run_iter(self, idx, batch)
    monkeypatch.setattr(EpochBasedTrainLoop, "run_iter", dies_in_epoch_3)
    with pytest.raises(Killed):
        train(tmp_path / "killed")
    monkeypatch.setattr(EpochBasedTrainLoop, "run_iter", run_iter)
    train(tmp_path / "killed", "--resume")

    straight = load_checkpoint(tmp_path / "straight" / "epoch_3.pth")
    resumed = load_checkpoint(tmp_path / "killed" / "epoch_3.pth")
    assert resumed["meta"]["iter"] == straight["meta"]["iter"] == 6
    different = [k for k, v in straight["state_dict"].items()
                 if not torch.equal(v, resumed["state_dict"][k])]
    assert different == []
