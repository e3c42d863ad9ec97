"""torchrun with 2 CPU processes (gloo), through run_dist.sh and run_eval.sh."""
from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import CLS_ROOT, TINY_CONFIG
from config import load_config
from data import build_loaders
from datagen import make_folder_layout
from hrformer_common.testing.stall import EXPECTED, TIMEOUT_S, stop_rank_1_and_wait
from engine.loop import Amp, validate
from models import build_model
from hrformer_common.checkpoint import load_checkpoint, load_weights, state_dict_of

pytestmark = pytest.mark.usefixtures("one_thread")

SUMMARY = re.compile(r" \* Acc@1 ([\d.]+) Acc@5 ([\d.]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHON": sys.executable, "MASTER_PORT": str(free_port()),
           "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", script, *args], cwd=CLS_ROOT, env=env, capture_output=True,
                          text=True, timeout=400)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def test_two_process_training_and_reduced_evaluation(tmp_path: Path) -> None:
    # 9 train images: 5 per process after DistributedSampler padding -> 2 batches of 2.
    # 9 val images: shards of 5 and 4, so averaging per-process percentages would be wrong.
    data = make_folder_layout(tmp_path / "data", train_per_class=3, val_per_class=3)
    out = tmp_path / "out"
    launch("run_dist.sh", str(TINY_CONFIG), str(data), "2", "--output", str(out), "--tag", "t",
           "--opts", "TRAIN.EPOCHS", "1", "DATA.BATCH_SIZE", "2")
    run = out / "hrt_test_tiny" / "t"
    log0, log1 = ((run / f"log_rank{r}.txt").read_text() for r in (0, 1))
    assert "2 process(es) on cpu" in log0
    for log in (log0, log1):  # both processes ran exactly two iterations
        assert "Train: [0/1][1/2]" in log and "[2/2]" not in log
    checkpoint = load_checkpoint(run / "latest.pth")
    assert checkpoint["epoch"] == 0 and len(checkpoint["rng"]) == 2

    stdout = launch("run_eval.sh", str(TINY_CONFIG), str(run / "latest.pth"), str(data), "2",
                    "--output", str(tmp_path / "eval"))
    (top1, top5), = SUMMARY.findall(stdout)
    # The same checkpoint evaluated in this single process.
    config = load_config(TINY_CONFIG, ["DATA.DATA_PATH", str(data), "DATA.BATCH_SIZE", "2"])
    _, _, _, val_loader = build_loaders(config, train=False)
    model = build_model(config)
    load_weights(model, state_dict_of(checkpoint, "latest.pth"), "latest.pth")
    expected = validate(config, model, val_loader, Amp.from_config(config, torch.device("cpu")),
                        torch.device("cpu"), logging.getLogger("test"))
    assert expected["count"] == 9
    assert float(top1) == pytest.approx(expected["acc1"], abs=1e-3)
    assert float(top5) == pytest.approx(expected["acc5"], abs=1e-3)
    eval_log = tmp_path / "eval" / "hrt_test_tiny" / "eval" / "log_rank0.txt"
    assert "on 9 images" in eval_log.read_text()


def test_a_stopped_rank_fails_the_run_within_the_timeout(folder_data: Path,
                                                         tmp_path: Path) -> None:
    command = [sys.executable, "main.py", "--cfg", str(TINY_CONFIG), "--data-path",
               str(folder_data), "--output", str(tmp_path), "--tag", "t", "--opts",
               "TRAIN.EPOCHS", "100", "DATA.BATCH_SIZE", "2"]
    log = tmp_path / "hrt_test_tiny" / "t" / "log_rank1.txt"
    code, output, elapsed = stop_rank_1_and_wait(
        command, CLS_ROOT, lambda: log.is_file() and "Train: [0/100]" in log.read_text())
    assert code == 1, output[-3000:]
    assert elapsed < 10 * TIMEOUT_S, elapsed  # the timeout, the probe, the exit
    assert EXPECTED in output, output[-3000:]


def test_shared_collectives_are_no_ops_in_one_process(monkeypatch):
    from hrformer_common import dist as hrformer_dist
    assert not hrformer_dist.in_process_group()
    assert (hrformer_dist.rank(), hrformer_dist.world_size()) == (0, 1)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert hrformer_dist.local_rank() == 3
    assert (hrformer_dist.backend_for("cuda"), hrformer_dist.backend_for("cpu")) == \
        ("nccl", "gloo")
    values = torch.tensor([1.0, 2.0])
    assert hrformer_dist.all_reduce_sum(values) is values and values.tolist() == [1.0, 2.0]
    hrformer_dist.barrier()
    assert hrformer_dist.run_reporting_stalls(lambda: 7) == 7

    def times_out():
        raise RuntimeError("gloo: timed out")

    # one process: a timeout stays the original error (no other rank to blame)
    with pytest.raises(RuntimeError, match="timed out") as caught:
        hrformer_dist.run_reporting_stalls(times_out)
    assert not isinstance(caught.value, hrformer_dist.StalledRankError)
