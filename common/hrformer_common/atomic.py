"""Atomic file writes: checkpoints, exported models, result files (standard library only).

A file is written to a temporary file in the same folder, flushed, fsynced and renamed over
its final name, so a reader sees the old file or the new one, whole, never a part. A full disk
gives "could not write <path>: no space left on device" and leaves the previous file intact.
Temporary files that a killed writer left behind are removed by the next write to that path;
those of a writer that is still running (another process on this machine) are left alone.
A result that must not replace anything (`replace=False`) is linked into place, which fails
when a file of that name appeared meanwhile (another run writing the same result).
"""
from __future__ import annotations

import errno
import io
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# `.<name>.tmp-<pid>`: a leading dot and no final suffix of the target, so no `*.pth` or
# `*.onnx` glob ever picks a temporary file up.
TEMP_INFIX = ".tmp-"


def temp_path(path: Path) -> Path:
    """The temporary file this process writes `path` through."""
    return path.with_name(f".{path.name}{TEMP_INFIX}{os.getpid()}")


class FileAppearedError(FileExistsError):
    """A result file that another writer created while this one was writing it."""


def _running(pid_text: str) -> bool:
    """Whether the process that named a temporary file (its pid) still runs here."""
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this process's own leftover: it is not writing it now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OverflowError:
        return False
    return True


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Delete temporary files of earlier, killed writes of `path`; a temporary file of a
    process that still runs (a concurrent writer) is kept, also one whose writer added a
    suffix after the pid (`.clip.mp4.tmp-<pid>.mp4`: OpenCV picks a video's container by it)."""
    path = Path(path)
    stale = sorted(t for t in path.parent.glob(f".{path.name}{TEMP_INFIX}*")
                   if not _running(t.name.rpartition(TEMP_INFIX)[2].partition(".")[0]))
    for temp in stale:
        temp.unlink(missing_ok=True)
    return stale


def _place(temp: Path, path: Path, replace: bool) -> None:
    """Move the finished `temp` to `path`; without `replace`, never over an existing file."""
    if replace:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)  # atomic, and fails if `path` exists
    except FileExistsError:
        raise FileAppearedError(f"{path} appeared while this run was writing it (another "
                                "run writing the same result?); it was left as it is") from None
    except OSError:  # no hard links on this file system: check, then rename
        if path.exists():
            raise FileAppearedError(f"{path} appeared while this run was writing it; it was "
                                    "left as it is") from None
        os.replace(temp, path)
        return
    temp.unlink()


def is_disk_full(err: BaseException | None) -> bool:
    """Whether `err` or an error it wraps is ENOSPC / EDQUOT (torch wraps the OSError of a
    failed write in a RuntimeError)."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        err = err.__cause__ or err.__context__
    return False


def fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (not possible on every platform)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, replace: bool = True) -> Iterator[Path]:
    """A temporary path to write (by any library that takes a file name); once the block ends
    without an error the file is fsynced and renamed to `path`. `replace=False`: a file at
    `path` (one that appeared after the caller checked) is never replaced; FileAppearedError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    temp = temp_path(path)
    try:
        yield temp
        if not temp.is_file():
            raise FileNotFoundError(f"nothing was written to {temp} (for {path})")
        _fsync_file(temp)
        _place(temp, path, replace)
    except BaseException as err:
        temp.unlink(missing_ok=True)
        if is_disk_full(err):
            raise OSError(errno.ENOSPC,
                          f"could not write {path}: no space left on device") from err
        raise
    fsync_dir(path.parent)


@contextmanager
def atomic_file(path: str | Path, replace: bool = True) -> Iterator[io.BufferedWriter]:
    """A binary file object whose content replaces `path` only once it is complete and on
    disk (see `atomic_path`)."""
    with atomic_path(path, replace) as temp, open(temp, "wb") as f:
        yield f
        f.flush()


def write_atomic(data: bytes, path: str | Path, replace: bool = True) -> None:
    """Write `data` to `path` atomically (`replace=False`: see `atomic_path`)."""
    with atomic_file(path, replace) as f:
        f.write(data)


def write_text_atomic(text: str, path: str | Path, replace: bool = True) -> None:
    """Write `text` (UTF-8) to `path` atomically (`replace=False`: see `atomic_path`)."""
    write_atomic(text.encode(), path, replace)
