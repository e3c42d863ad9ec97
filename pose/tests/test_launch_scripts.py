"""tools/dist_train.sh, dist_test.sh and slurm_train.sh: the command each one starts (a stand-in
python / srun prints its working folder and arguments), and the usage error."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

POSE = Path(__file__).resolve().parents[1]
TORCHRUN = ["-m", "torch.distributed.run", "--nnodes=1", "--node_rank=0",
            "--master_addr=127.0.0.1", "--master_port=29500"]


def launch(tmp_path: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    for name in ("fakepy", "srun"):
        stand_in = tmp_path / name
        stand_in.write_text(f'#!/bin/sh\necho "$PWD" {"srun" if name == "srun" else ""} "$@"\n')
        stand_in.chmod(0o755)
    environ = {"PATH": f"{tmp_path}:{os.environ['PATH']}", "PYTHON": "fakepy", **env}
    return subprocess.run(["bash", str(POSE / "tools" / script), *args], cwd=tmp_path,
                          env=environ, capture_output=True, text=True)


def test_dist_train_and_test_start_torchrun_from_pose(tmp_path):
    out = launch(tmp_path, "dist_train.sh", "c.py", "2", "--x", "1").stdout.split()
    assert out == [str(POSE), *TORCHRUN, "--nproc_per_node=2", "tools/train.py", "c.py",
                   "--launcher", "pytorch", "--x", "1"]
    out = launch(tmp_path, "dist_test.sh", "c.py", "w.pth", "4", NNODES="2", PORT="7").stdout
    assert out.split() == [str(POSE), *TORCHRUN[:2], "--nnodes=2", *TORCHRUN[3:5],
                           "--master_port=7", "--nproc_per_node=4", "tools/test.py", "c.py",
                           "w.pth", "--launcher", "pytorch"]


def test_slurm_train_starts_srun(tmp_path):
    out = launch(tmp_path, "slurm_train.sh", "part", "job", "configs/x/c.py", GPUS="16",
                 SRUN_ARGS="--qos=high").stdout.split()
    assert out == [str(POSE), "srun", "-p", "part", "--job-name=job", "--gres=gpu:8",
                   "--ntasks=16", "--ntasks-per-node=8", "--cpus-per-task=5",
                   "--kill-on-bad-exit=1", "--qos=high", "fakepy", "-u", "tools/train.py",
                   "configs/x/c.py", "--work-dir=work_dirs/c", "--launcher", "slurm"]


@pytest.mark.parametrize("script, args", [("dist_train.sh", ["c.py"]),
                                          ("dist_test.sh", ["c.py", "w.pth"]),
                                          ("slurm_train.sh", ["part", "job"])])
def test_too_few_arguments_print_the_usage(tmp_path, script, args):
    result = launch(tmp_path, script, *args)
    assert result.returncode == 2 and result.stderr.startswith(f"usage: {POSE}/tools/{script} <")
    assert result.stdout == ""
