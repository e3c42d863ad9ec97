"""Checkpoint files as a user meets them: every loader refuses a pickle that would run code,
a full disk leaves the previous checkpoint intact, crashed saves leave no temp behind."""
from __future__ import annotations

import errno
import io
import os
import subprocess
from pathlib import Path

import pytest
import timm
import torch

import main as cls_main
import hrformer_common.atomic as atomic
import hrformer_common.checkpoint as hc
import models.timm_models  # noqa: F401  (registers hrformer_* in timm)
from config import load_config
from conftest import CLS_ROOT, TINY_CONFIG
from engine.checkpoint import TrainingState, save_checkpoint
from engine.loop import Amp
from engine.optim import build_optimizer, build_scheduler, scaled_lrs
from models import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


class RunsCode:
    """Unpickling this calls os.system: what a malicious checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def code_running_checkpoint(path: Path, marker: Path) -> Path:
    model = build_model(load_config(TINY_CONFIG))
    torch.save({"model": model.state_dict(), "epoch": 0, "hook": RunsCode(marker)}, path)
    return path


def argv(data: Path, output: Path, *flags: str) -> list[str]:
    return ["--cfg", str(TINY_CONFIG), "--data-path", str(data), "--output", str(output),
            "--tag", "t", *flags]


def test_every_loader_refuses_a_code_running_pickle(folder_data: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"
    evil = code_running_checkpoint(tmp_path / "evil.pth", marker)
    refused = r"refusing to load .*evil\.pth.*weights-only.*GLOBAL posix\.system"

    with pytest.raises(hc.CheckpointError, match=refused):  # --resume (train and --eval)
        cls_main.main(argv(folder_data, tmp_path / "o1", "--resume", str(evil)))
    with pytest.raises(hc.CheckpointError, match=refused):
        cls_main.main(argv(folder_data, tmp_path / "o2", "--eval", "--resume", str(evil)))

    auto = tmp_path / "o3" / "hrt_test_tiny" / "t"  # auto-resume finds latest.pth there
    auto.mkdir(parents=True)
    code_running_checkpoint(auto / "latest.pth", marker)
    with pytest.raises(hc.CheckpointError, match=r"refusing to load .*latest\.pth"):
        cls_main.main(argv(folder_data, tmp_path / "o3", "--opts", "TRAIN.AUTO_RESUME", "True"))

    with pytest.raises(Exception, match="posix.system"):  # timm reads weights-only too
        timm.create_model("hrformer_tiny", pretrained=True,
                          pretrained_cfg_overlay=dict(file=str(evil)))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_PORT": "29731"}
    result = subprocess.run(["bash", "run_eval.sh", str(TINY_CONFIG), str(evil),
                             str(folder_data), "1", "--output", str(tmp_path / "o4")],
                            cwd=CLS_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "refusing to load" in result.stdout + result.stderr
    assert not marker.exists()


class FullDisk(io.FileIO):
    """A file on a disk that fills up after `room` bytes."""

    room = 4096

    def write(self, data) -> int:
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_disk_full_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    config = load_config(TINY_CONFIG)
    model = build_model(config)
    optimizer = build_optimizer(config, model, 1e-3)
    scheduler = build_scheduler(config, optimizer, scaled_lrs(config, 1), 10)
    scaler = Amp.from_config(config, torch.device("cpu")).grad_scaler()
    run = TrainingState(model, optimizer, scheduler, scaler, config)
    log = cls_main.create_logger(tmp_path / "log", 0)
    save_checkpoint(tmp_path, run, 0, 1.0, [], periodic=False, logger=log)
    before = (tmp_path / "latest.pth").read_bytes()
    stale = tmp_path / ".latest.pth.tmp-999999"  # left by a process killed mid-save
    stale.write_bytes(b"partial")

    monkeypatch.setattr(atomic, "open", lambda path, mode: FullDisk(path, "w"), raising=False)
    with pytest.raises(OSError, match=r"could not write .*latest\.pth: no space left on "
                                      r"device") as err:
        save_checkpoint(tmp_path, run, 1, 2.0, [], periodic=False, logger=log)
    assert err.value.errno == errno.ENOSPC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pth", "log"]  # no temps
    assert (tmp_path / "latest.pth").read_bytes() == before
    assert hc.load_checkpoint(tmp_path / "latest.pth")["epoch"] == 0
