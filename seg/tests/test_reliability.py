"""main.py with bad input or a bad end: a code-running pickle, a NaN loss, broken files, a
full disk, a kill during a save, a stopped rank. Each fails clearly and keeps good state."""
import errno
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import hrformer_common.atomic as atomic
import hrformer_common.checkpoint as hc
from hrformer_common.testing.stall import EXPECTED, TIMEOUT_S, stop_rank_1_and_wait
from helpers_train import DEMO_CONFIG, eval_args, make_dataset, train_args
from lib.segmentor.trainer import NonFiniteLossError, Trainer
from lib.utils.command_line import load_config
from main import main

SEG_ROOT = Path(__file__).resolve().parents[1]
LATEST, BEST = "demo_hrt_ocr_v2_latest.pth", "demo_hrt_ocr_v2_max_performance.pth"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """2 iterations of the demo model: data and a checkpoint folder with latest and best."""
    root = tmp_path_factory.mktemp("reliability")
    data = make_dataset(root, num_train=2, num_val=1)
    main(train_args(data, root / "ckpt"))
    return data, root / "ckpt"


class RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_every_loader_refuses_a_code_running_pickle(trained, tmp_path):
    data, ckpt_dir = trained
    marker = tmp_path / "code_ran"
    evil = tmp_path / "evil.pth"
    good = hc.load_checkpoint(ckpt_dir / LATEST)
    torch.save({**good, "hook": RunsCode(marker)}, evil)
    refused = r"refusing to load .*evil\.pth.*weights-only.*posix\.system"
    for argv in (train_args(data, tmp_path / "a") + ["--resume", str(evil)],
                 train_args(data, tmp_path / "b") + ["--resume", str(evil),
                                                     "--resume_continue", "y"],
                 eval_args(data, evil, tmp_path / "c"),
                 train_args(data, tmp_path / "d") + ["--pretrained", str(evil)]):
        with pytest.raises(hc.CheckpointError, match=refused):
            main(argv)
    assert not marker.exists()


def test_nan_loss_stops_and_keeps_the_good_checkpoints(trained, tmp_path):
    data, ckpt_dir = trained
    before = {n: (ckpt_dir / n).read_bytes() for n in (LATEST, BEST)}
    argv = train_args(data, ckpt_dir, max_iters=8) + [
        "--resume", str(ckpt_dir / LATEST), "--resume_continue", "y", "--base_lr", "1e30"]
    with pytest.raises(NonFiniteLossError, match=r"training loss is (nan|inf) at iteration \d"):
        main(argv)
    assert {n: (ckpt_dir / n).read_bytes() for n in (LATEST, BEST)} == before


def test_broken_image_and_checkpoint_files_are_named(trained, tmp_path):
    data, ckpt_dir = trained
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes((ckpt_dir / LATEST).read_bytes()[:5000])
    with pytest.raises(hc.CheckpointError, match=r"cannot read checkpoint .*truncated\.pth"):
        main(eval_args(data, truncated, tmp_path / "out"))

    broken = make_dataset(tmp_path, num_train=2, num_val=1)
    png = sorted((broken / "train" / "image").glob("*"))[0]
    png.write_bytes(png.read_bytes()[:200])
    with pytest.raises(OSError, match=f"cannot read image {png}"):
        main(train_args(broken, tmp_path / "ckpt"))


class FullDisk(io.FileIO):
    def write(self, data) -> int:
        if self.tell() + len(data) > 4096:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_full_disk_names_the_file_and_keeps_the_previous_one(trained, tmp_path, monkeypatch):
    data, ckpt_dir = trained
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / LATEST).write_bytes((ckpt_dir / LATEST).read_bytes())
    monkeypatch.setattr(atomic, "open", lambda path, mode: FullDisk(path, "w"), raising=False)
    with pytest.raises(OSError, match=f"could not write {folder / LATEST}: no space left on "
                                      "device"):
        main(train_args(data, folder, max_iters=4) + [
            "--resume", str(folder / LATEST), "--resume_continue", "y"])
    assert sorted(p.name for p in folder.iterdir()) == [LATEST]  # no temp file left
    assert hc.load_checkpoint(folder / LATEST)["config_dict"]["iters"] == 2


# Runs main.py with torch.save writing half a file and then hanging on the second save (the
# first save of the run completes), so the test can kill the process in the middle of it.
HANG_IN_SECOND_SAVE = """
import sys, time, torch
import hrformer_common.checkpoint as hc
calls = []
def save(obj, f):
    calls.append(1)
    if len(calls) == 2:
        f.write(b"PK" * 1000); f.flush(); open(sys.argv[1], "w").close(); time.sleep(600)
    torch.save(obj, f)
hc.torch = type("T", (), {"save": staticmethod(save), "load": torch.load,
                          "serialization": torch.serialization})
from main import main
main(sys.argv[2:])
"""


def test_kill_during_a_save_keeps_the_previous_checkpoint(trained, tmp_path):
    data, _ = trained
    folder, marker = tmp_path / "ckpt", tmp_path / "in_save"
    argv = train_args(data, folder, max_iters=4)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", HANG_IN_SECOND_SAVE, str(marker), *argv],
                               cwd=SEG_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not marker.exists():
            assert process.poll() is None and time.time() < deadline, "no second save"
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    # iteration 2 saved latest (first save), the kill hit max_performance or the next latest
    assert hc.load_checkpoint(folder / LATEST)["config_dict"]["iters"] == 2
    assert [p.name for p in folder.glob(".*")], "the partial temp file is where expected"
    assert not [p for p in folder.glob("*.pth") if p.name not in (LATEST, BEST)]
    main(train_args(data, folder, max_iters=2))  # the next save cleans up the stale temp
    assert not list(folder.glob(".*"))


def test_a_stopped_rank_fails_the_run_within_the_timeout(trained, tmp_path):
    data, _ = trained
    log = tmp_path / "rank0.log"
    command = [sys.executable, "main.py", *train_args(data, tmp_path / "ckpt", max_iters=1000),
               "--log_to_file", "y", "--log_file", str(log)]
    code, output, elapsed = stop_rank_1_and_wait(
        command, SEG_ROOT, lambda: log.is_file() and "iter 1/1000" in log.read_text())
    assert code == 1, output[-3000:]
    assert elapsed < 10 * TIMEOUT_S, elapsed  # the timeout, the probe, the exit
    assert EXPECTED in output, output[-3000:]


@pytest.mark.parametrize("argv, expected", [
    (["--base-lrate", "0.5"], r"unknown flag --base-lrate; did you mean '--base-lr'\?"),
    (["--test_intervall", "1"], r"unknown flag --test_intervall; did you mean '--test_interval'"),
    (["solver.max_iter", "1"], r"unknown config key 'solver.max_iter'; did you mean "
                               r"'solver.max_iters'\?"),
])
def test_unknown_flags_and_keys_fail_before_any_work(tmp_path, argv, expected):
    with pytest.raises(ValueError, match=expected):
        main(train_args(tmp_path / "no_data_needed", tmp_path / "ckpt") + argv)


def test_unknown_json_key_is_named_and_no_op_flags_stay_accepted(tmp_path):
    config = json.loads((SEG_ROOT / DEMO_CONFIG).read_text())
    config["network"]["drop_path_rat"] = 0.2
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"typo\.json.*unknown config key "
                                         r"'network\.drop_path_rat'; did you mean "
                                         r"'network\.drop_path_rate'\?"):
        load_config(["--configs", str(path)])
    configer, _ = load_config(["--configs", DEMO_CONFIG, "--shape", "512", "512", "--fig_num",
                               "2", "--use_ground_truth"])  # the original's scripts pass them
    assert configer.get("network.drop_path_rate") == config["network"]["drop_path_rate"]


class Killed(BaseException):
    """Stands in for kill -9: nothing after it runs, nothing more is saved."""


@pytest.mark.parametrize("workers", [0, 2])
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, monkeypatch, workers):
    """5 images, batches of 2 (drop_last): 2 iterations per epoch; a checkpoint at 3 (in the
    middle of epoch 1), killed in iteration 5, resumed, and compared at 6."""
    data = make_dataset(tmp_path, num_train=5, num_val=1)
    argv = lambda folder: train_args(data, folder, max_iters=6) + [  # noqa: E731
        "--test_interval", "3", "data.workers", str(workers)]
    main(argv(tmp_path / "straight"))

    step = Trainer._step
    def dies_in_iteration_5(self, batch):  # noqa: E306
        if self.iters == 4:
            raise Killed
        return step(self, batch)
    monkeypatch.setattr(Trainer, "_step", dies_in_iteration_5)
    with pytest.raises(Killed):
        main(argv(tmp_path / "killed"))
    monkeypatch.setattr(Trainer, "_step", step)
    latest = tmp_path / "killed" / LATEST
    assert hc.load_checkpoint(latest)["position"]["epoch"] == 1
    main(argv(tmp_path / "killed") + ["--resume", str(latest), "--resume_continue", "y"])

    straight = hc.load_checkpoint(tmp_path / "straight" / LATEST)
    resumed = hc.load_checkpoint(latest)
    assert resumed["config_dict"]["iters"] == straight["config_dict"]["iters"] == 6
    assert resumed["position"]["epoch"] == straight["position"]["epoch"] == 2
    different = [k for k, v in straight["state_dict"].items()
                 if not torch.equal(v, resumed["state_dict"][k])]
    assert different == []
    assert straight["optimizer"]["state"][0]["step"] == resumed["optimizer"]["state"][0]["step"]
