"""Resumption: a run SIGKILLed mid-epoch and restarted ends with the same weights as an
uninterrupted one; a NaN loss stops the run and keeps the last good checkpoint."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import main as cls_main
from conftest import CLS_ROOT, TINY_CONFIG
from engine.loop import NonFiniteLossError
from hrformer_common.checkpoint import load_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

EPOCHS = ("TRAIN.EPOCHS", "3")


def argv(data: Path, output: Path, *opts: str) -> list[str]:
    return ["--cfg", str(TINY_CONFIG), "--data-path", str(data), "--output", str(output),
            "--tag", "t", "--opts", *EPOCHS, *opts]


def run_dir(output: Path) -> Path:
    return output / "hrt_test_tiny" / "t"


def wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.is_file() and text in path.read_text():
            return
        assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.05)
    raise TimeoutError(f"{text!r} did not appear in {path}")


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(folder_data: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    def fold(model: torch.nn.Module) -> None:
        raise AssertionError("a training run folded its model for validation")

    monkeypatch.setattr(cls_main, "reparameterize_model", fold)
    straight = cls_main.main(argv(folder_data, tmp_path / "straight"))
    assert [h["epoch"] for h in straight["history"]] == [0, 1, 2]

    # One torch thread, like this test process, so the arithmetic is identical.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "main.py", *argv(folder_data, tmp_path / "killed")]
    first = subprocess.Popen(command, cwd=CLS_ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    log = run_dir(tmp_path / "killed") / "log_rank0.txt"
    wait_for(log, "Train: [1/3][0/3]", first)  # epoch 0 saved, epoch 1 under way
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert load_checkpoint(run_dir(tmp_path / "killed") / "latest.pth")["epoch"] == 0
    assert not list(run_dir(tmp_path / "killed").glob(".*.tmp-*"))

    second = subprocess.run(command, cwd=CLS_ROOT, env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "auto-resume from" in log.read_text()
    expected = load_checkpoint(run_dir(tmp_path / "straight") / "latest.pth")
    resumed = load_checkpoint(run_dir(tmp_path / "killed") / "latest.pth")
    assert resumed["epoch"] == expected["epoch"] == 2
    for key, value in expected["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    assert resumed["max_accuracy"] == expected["max_accuracy"]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(folder_data: Path, tmp_path: Path,
                                                            monkeypatch) -> None:
    calls, build_real = [], cls_main.build_criterion

    def criterion_going_nan(config, mixup):
        real = build_real(config, mixup)

        def criterion(outputs, targets):
            calls.append(1)
            loss = real(outputs, targets)
            return loss * float("nan") if len(calls) > 4 else loss  # epoch 1, iteration 1
        return criterion

    monkeypatch.setattr(cls_main, "build_criterion", criterion_going_nan)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 1 iteration 1"):
        cls_main.main(argv(folder_data, tmp_path))
    saved = load_checkpoint(run_dir(tmp_path) / "latest.pth")
    assert saved["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())
    assert sorted(p.name for p in run_dir(tmp_path).glob("*.pth")) == ["ckpt_epoch_0.pth",
                                                                       "latest.pth"]
