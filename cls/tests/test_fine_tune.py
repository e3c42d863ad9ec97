"""Training on your own data: fitting loads (hrformer_common.checkpoint.load_fitting_weights),
`main.py --pretrained` from a released-layout checkpoint of 1000 classes on a 3-class image
folder, the class count and names from the folders, and the errors for bad input."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

import main as cls_main
from config import load_config
from conftest import TINY_CONFIG
from data import DataLayoutError
from datagen import CLASSES, make_folder_layout
from engine.checkpoint import load_pretrained
from hrformer_common.checkpoint import CheckpointError, load_checkpoint, load_fitting_weights
from models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSIFIER = {"classifier.weight", "classifier.bias"}


class Net(nn.Module):
    """A body and a head of `classes` outputs."""

    def __init__(self, classes: int, width: int = 6) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width))
        self.head = nn.Linear(width, classes)


def clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_fitting_tensors_load_and_the_head_of_another_shape_stays_initialised() -> None:
    torch.manual_seed(0)
    source = clone_state(Net(5))
    source["extra.weight"] = torch.ones(2)
    model = Net(3)
    initial = clone_state(model)
    report = load_fitting_weights(model, source, "five.pth", reinitialisable=["head."])
    assert report.reinitialised() == ["head.bias", "head.weight"]
    assert report.unexpected == ["extra.weight"]
    for key, value in model.state_dict().items():
        expected = initial[key] if key.startswith("head.") else source[key]
        assert torch.equal(value, expected), key
    assert report.fine_tune_summary() == (
        "five.pth: 7 tensors loaded; 2 re-initialised (head.bias: checkpoint (5,) vs model "
        "(3,); head.weight: checkpoint (5, 6) vs model (3, 6)); 1 unused (extra.weight)")

    del source["head.bias"]  # a key the checkpoint lacks stays initialised too
    report = load_fitting_weights(Net(3), source, "five.pth")
    assert report.reinitialised() == ["head.bias", "head.weight"]
    assert "head.bias: not in the checkpoint" in report.fine_tune_summary()
    same = load_fitting_weights(Net(5), clone_state(Net(5)), "same.pth")
    assert same.fine_tune_summary() == "same.pth: 9 tensors loaded; nothing re-initialised"


def test_a_body_that_does_not_fit_is_an_error_and_loads_nothing() -> None:
    model = Net(3)
    before = clone_state(model)
    with pytest.raises(CheckpointError, match=r"wide\.pth does not fit Net outside head\. "
                                              r".*body\.0\.weight"):
        load_fitting_weights(model, clone_state(Net(3, width=8)), "wide.pth",
                             reinitialisable=["head."])
    renamed = {f"backbone.{k}": v for k, v in clone_state(Net(3)).items()}
    with pytest.raises(CheckpointError, match=r"no tensor of pose\.pth fits Net"):
        load_fitting_weights(model, renamed, "pose.pth")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def own_data_yaml(tmp_path: Path) -> Path:
    """The tiny test config without MODEL.NUM_CLASSES: the class count comes from the data."""
    data = yaml.safe_load(TINY_CONFIG.read_text())
    del data["MODEL"]["NUM_CLASSES"]
    path = tmp_path / "tiny_own_data.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def released_checkpoint(path: Path, config_path: Path) -> dict[str, torch.Tensor]:
    """An ImageNet checkpoint (1000 classes) in the original's layout, its config pickled."""
    config = load_config(config_path)
    torch.manual_seed(123)
    state = build_model(config).state_dict()
    torch.save({"model": state, "optimizer": {}, "lr_scheduler": {}, "max_accuracy": 81.2,
                "epoch": 299, "config": config}, path)
    return state


def argv(cfg: Path, data: Path, output: Path, *flags: str) -> list[str]:
    return ["--cfg", str(cfg), "--data-path", str(data), "--output", str(output), "--tag", "t",
            *flags]


def test_fine_tuning_reinitialises_exactly_the_classifier(folder_data: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    cfg = own_data_yaml(tmp_path)
    released = released_checkpoint(tmp_path / "hrt_released.pth", cfg)
    assert released["classifier.weight"].shape[0] == 1000
    loaded, train_real = {}, cls_main.train

    def train_after_looking(session, *args):
        loaded.update(clone_state(session.state.model))  # loaded, before any optimizer step
        return train_real(session, *args)

    monkeypatch.setattr(cls_main, "train", train_after_looking)
    flags = ("--pretrained", str(tmp_path / "hrt_released.pth"), "--batch-size", "6")
    result = cls_main.main(argv(cfg, folder_data, tmp_path / "out", *flags,
                                "--opts", "TRAIN.EPOCHS", "1"))

    differing = {k for k, v in loaded.items()
                 if v.shape != released[k].shape or not torch.equal(v, released[k])}
    assert differing == CLASSIFIER
    torch.manual_seed(0)  # main.py's seed: the classifier is the fresh model's
    fresh = build_model(load_config(cfg, ["MODEL.NUM_CLASSES", "3"])).state_dict()
    assert all(torch.equal(loaded[k], fresh[k]) for k in CLASSIFIER)
    run = tmp_path / "out" / "hrt_test_tiny" / "t"
    lines = [line for line in (run / "log_rank0.txt").read_text().splitlines()
             if "re-initialised" in line]
    assert len(lines) == 1
    assert "classifier.weight: checkpoint (1000, 2048) vs model (3, 2048)" in lines[0]
    assert "hrt_released.pth: " in lines[0] and "2 re-initialised" in lines[0]

    assert len(result["history"]) == 1  # 12 images in batches of 6: two iterations
    saved = load_checkpoint(run / "latest.pth")
    assert saved["class_names"] == list(CLASSES)
    assert saved["model"]["classifier.weight"].shape == (3, 2048)
    assert not torch.equal(saved["model"]["classifier.weight"], loaded["classifier.weight"])

    # Restarted with the same command and more epochs: auto-resume wins over --pretrained.
    cls_main.main(argv(cfg, folder_data, tmp_path / "out", *flags, "--opts", "TRAIN.EPOCHS", "2"))
    log = (run / "log_rank0.txt").read_text()
    assert "(not --pretrained" in log and log.count("re-initialised") == 1
    assert load_checkpoint(run / "latest.pth")["epoch"] == 1


def test_a_bare_state_dict_saved_under_ddp_is_read_too(tmp_path: Path, caplog) -> None:
    """The other released layout: the state dict alone, with DataParallel's `module.`."""
    cfg = own_data_yaml(tmp_path)
    state = build_model(load_config(cfg)).state_dict()
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "bare.pth")
    model = build_model(load_config(cfg, ["MODEL.NUM_CLASSES", "3"]))
    with caplog.at_level(logging.INFO, logger="test"):
        report = load_pretrained(model, str(tmp_path / "bare.pth"), logging.getLogger("test"))
    assert report.reinitialised() == sorted(CLASSIFIER) and not report.unexpected
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items()
               if k not in CLASSIFIER)
    assert caplog.messages == [f"fine-tuning from {report.fine_tune_summary()}"]


def test_the_class_count_comes_from_the_folders(folder_data: Path, tmp_path: Path) -> None:
    def num_classes(cfg: Path, *flags: str) -> int:
        config = cls_main.build_config(cls_main.parse_args(["--cfg", str(cfg), "--data-path",
                                                            str(folder_data), *flags]))
        return config.MODEL.NUM_CLASSES

    assert num_classes(Path("configs/hrt/hrt_tiny.yaml")) == 3  # the default 1000 is not given
    assert num_classes(TINY_CONFIG) == 3  # given by the yaml, and equal
    evaluate = ("--eval", "--opts", "MODEL.NUM_CLASSES", "10")
    assert num_classes(TINY_CONFIG, *evaluate) == 10  # a model of more classes, evaluated
    with pytest.raises(DataLayoutError, match=rf"MODEL.NUM_CLASSES=5, but {folder_data} holds "
                                              r"3 class folders \(n001, n002, n003\)"):
        num_classes(own_data_yaml(tmp_path), "--opts", "MODEL.NUM_CLASSES", "5")
    with pytest.raises(DataLayoutError, match=r"MODEL.NUM_CLASSES=1000, but"):
        num_classes(own_data_yaml(tmp_path), "--opts", "MODEL.NUM_CLASSES", "1000")


def test_bad_class_folders_fail_before_training(folder_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(folder_data, data)
    (data / "train" / "n004").mkdir()
    (data / "val" / "n004").mkdir()
    with pytest.raises(DataLayoutError, match=r"class folder .*data/val/n004 holds no images"):
        cls_main.main(argv(own_data_yaml(tmp_path), data, tmp_path / "out"))
    assert not list(tmp_path.rglob("*.pth"))
    (data / "val" / "n004").rmdir()
    (data / "val" / "n005").mkdir()
    with pytest.raises(DataLayoutError, match=r"train/ and val/ hold different class folders; "
                                              r"only in train/: n004; only in val/: n005"):
        cls_main.main(argv(own_data_yaml(tmp_path), data, tmp_path / "out"))


def test_bad_pretrained_checkpoints_are_named(tmp_path: Path) -> None:
    data = make_folder_layout(tmp_path / "data", train_per_class=2, val_per_class=1)
    cfg = own_data_yaml(tmp_path)

    def run(*flags: str) -> dict:
        return cls_main.main(argv(cfg, data, tmp_path / "o", *flags))

    with pytest.raises(SystemExit, match=r"--pretrained .*nothing\.pth: file not found"):
        run("--pretrained", str(tmp_path / "nothing.pth"))
    with pytest.raises(SystemExit, match=r"--pretrained x\.pth and --resume y\.pth exclude"):
        run("--pretrained", "x.pth", "--resume", "y.pth")
    with pytest.raises(SystemExit, match=r"--pretrained x\.pth initialises training"):
        run("--pretrained", "x.pth", "--eval")
    notes = tmp_path / "notes.pth"
    notes.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*notes\.pth \(truncated "
                                              r"or not a torch file\?\): Unsupported operand"):
        run("--pretrained", str(notes))
    other = tmp_path / "hrt_tiny.pth"  # another variant: its backbone does not fit
    torch.save({"model": build_model(load_config(Path("configs/hrt/hrt_tiny.yaml"))).state_dict()},
               other)
    with pytest.raises(CheckpointError, match=r"hrt_tiny\.pth does not fit HRFormerClassifier "
                                              r"outside classifier\."):
        run("--pretrained", str(other))
    assert not list((tmp_path / "o").rglob("*.pth"))  # nothing trained
