"""Two processes started as torchrun starts them; rank 1 is stopped (SIGSTOP) once training
runs, and rank 0 must fail on its own (a test helper of the three subprojects)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

TIMEOUT_S = 3  # HRFORMER_DIST_TIMEOUT for these runs
# Rank 0's message: its rank, the timeout, and rank 1 as the one that did not answer.
EXPECTED = (f"rank 0: a collective did not complete within {TIMEOUT_S} s "
            "(HRFORMER_DIST_TIMEOUT); unresponsive ranks: [Rank 0]: Ranks 1 failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_rank_1_and_wait(command: list[str], cwd: Path, ready: Callable[[], bool],
                         startup_s: float = 180) -> tuple[int, str, float]:
    """Run `command` as ranks 0 and 1; once `ready()`, SIGSTOP rank 1. Returns rank 0's exit
    code, its output, and the seconds from the stop to its exit."""
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
           "WORLD_SIZE": "2", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1",
           "PYTHONUNBUFFERED": "1", "HRFORMER_DIST_TIMEOUT": str(TIMEOUT_S)}
    ranks = [subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)})
             for r in range(2)]
    try:
        deadline = time.time() + startup_s
        while not ready():
            if time.time() > deadline or any(p.poll() is not None for p in ranks):
                raise AssertionError("training did not start: " + ranks[0].stdout.read()[-3000:])
            time.sleep(0.05)
        ranks[1].send_signal(signal.SIGSTOP)
        stopped = time.time()
        output, _ = ranks[0].communicate(timeout=60)
        return ranks[0].returncode, output, time.time() - stopped
    finally:
        for process in ranks:
            process.kill()
            process.wait()
