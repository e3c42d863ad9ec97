"""Process-group start with a timeout, and a clear error when a rank stalls (torch only).

Without a timeout that fires, a stopped or stuck process freezes every other one with no
message. Here each collective gives up after `HRFORMER_DIST_TIMEOUT` seconds (default 1800,
torch's own default for gloo); the run then fails naming the ranks that did not respond,
which a second small gloo group (`_probe`) finds out with a monitored barrier, since the
timed-out group's connections are closed by then. Also the process-group queries and the two
collectives the training loops share; each one is a no-op outside a process group.
"""
from __future__ import annotations

import os
from datetime import timedelta
from typing import Callable, TypeVar

import torch
import torch.distributed as dist

TIMEOUT_ENV = "HRFORMER_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 1800.0
_PROBE_TIMEOUT_S = 10.0
_probe: dist.ProcessGroup | None = None
T = TypeVar("T")


class StalledRankError(RuntimeError):
    """A collective timed out: another process stopped, crashed or is stuck."""


def process_group_timeout(environ: os._Environ | dict = os.environ) -> timedelta:
    """`HRFORMER_DIST_TIMEOUT` (seconds, > 0) or the default; a bad value is an error."""
    raw = environ.get(TIMEOUT_ENV, "")
    if not raw:
        return timedelta(seconds=DEFAULT_TIMEOUT_S)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV}={raw!r}: expected a number of seconds > 0 "
                         f"(default {DEFAULT_TIMEOUT_S:g})")
    return timedelta(seconds=seconds)


def init_process_group(backend: str, **kwargs) -> timedelta:
    """`dist.init_process_group` with the configured timeout; returns the timeout."""
    global _probe
    timeout = process_group_timeout()
    dist.init_process_group(backend, timeout=timeout, **kwargs)
    _probe = dist.new_group(backend="gloo", timeout=timeout)
    return timeout


def is_timeout(err: BaseException) -> bool:
    text = str(err).lower()
    return isinstance(err, (RuntimeError, dist.DistBackendError)) and (
        "timed out" in text or "timeout" in text)


def stalled_rank_error(err: BaseException) -> StalledRankError:
    """The error to raise instead of a collective's timeout: names this rank, the timeout
    and, as far as the probe barrier can tell, the ranks that stopped responding."""
    seconds = process_group_timeout().total_seconds()
    stalled = "unknown"
    if _probe is not None:
        probe_timeout = timedelta(seconds=min(seconds, _PROBE_TIMEOUT_S))
        try:
            dist.monitored_barrier(group=_probe, timeout=probe_timeout, wait_all_ranks=True)
            stalled = "none found (all answered the probe; the run may just be too slow)"
        except RuntimeError as probe_err:
            stalled = str(probe_err).strip().splitlines()[0]
    return StalledRankError(
        f"rank {rank()}: a collective did not complete within {seconds:g} s ({TIMEOUT_ENV}); "
        f"unresponsive ranks: {stalled}. A process was stopped, crashed or is stuck; raise "
        f"{TIMEOUT_ENV} if steps are legitimately slower. First error: "
        f"{str(err).strip().splitlines()[0] if str(err).strip() else repr(err)}")


def run_reporting_stalls(step: Callable[[], T]) -> T:
    """`step()`; a collective's timeout becomes a StalledRankError naming the stalled ranks."""
    try:
        return step()
    except RuntimeError as err:
        if world_size() > 1 and is_timeout(err):
            raise stalled_rank_error(err) from err
        raise


def backend_for(device_type: str) -> str:
    return "nccl" if device_type == "cuda" else "gloo"


def in_process_group() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank: the process group's, else the one torchrun / SLURM gave it in
    `RANK` (so a process knows its rank before and after the group exists), else 0."""
    if in_process_group():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Rank 0, or the only process (the one that reports and writes shared files)."""
    return rank() == 0


def world_size() -> int:
    return dist.get_world_size() if in_process_group() else 1


def local_rank() -> int:
    """This process's GPU index on its machine, as torchrun sets it (0 without torchrun)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over the processes, in place."""
    if in_process_group():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if in_process_group():
        dist.barrier()
