"""Checkpoints given by URL: downloaded once into torch's hub cache (standard library + torch).

`resolve_checkpoint("https://host/hrt_small-1a2b3c4d.pth")` returns the cached file
`torch.hub.get_dir()/checkpoints/hrt_small-1a2b3c4d.pth` (where
`torch.hub.load_state_dict_from_url` puts it; `TORCH_HOME` moves it), downloading it the first
time; a local path comes back as it is. The download goes to a temporary file in the cache
folder, is fsynced and renamed (`atomic.py`), so a failed or interrupted download never becomes
the cached file. A hash prefix in the file name (torch.hub's `name-<sha256 prefix>.ext`, or
OpenMMLab's model-zoo `name-<sha256 prefix>_<yyyymmdd>.ext`) is checked before the rename. Processes of one machine that ask for the same URL at once (torchrun
ranks) take turns through a lock on the cache folder: one downloads, the others find the
cached file.

The loop is ours rather than `torch.hub.download_url_to_file`: that one accepts a body cut
short by the server (http.client returns the partial bytes without an error), and the
Content-Length check here refuses it.
"""
from __future__ import annotations

import fcntl
import hashlib
import http.client
import os
import re
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import torch.hub

from .atomic import atomic_path

URL_SCHEMES = ("http://", "https://")
CHUNK_BYTES = 1 << 20
# Seconds a connection may stay silent before the download fails (not the whole download).
SOCKET_TIMEOUT_S = 60.0
# OpenMMLab's model zoos (mmpose, mmseg, ...) publish `name-<sha256 prefix>_<yyyymmdd>.pth`.
OPENMMLAB_HASH_REGEX = re.compile(r"-([a-f0-9]{8,})_\d{8}\.")


class DownloadError(OSError):
    """A checkpoint URL could not be downloaded, or its content does not match its name."""


def is_url(path_or_url: str | Path) -> bool:
    """Whether the argument is an http(s) URL (a Path never is)."""
    return isinstance(path_or_url, str) and path_or_url.lower().startswith(URL_SCHEMES)


def cache_dir() -> Path:
    """torch's checkpoint cache, `<torch.hub.get_dir()>/checkpoints` (read at each call)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached_file(url: str) -> Path:
    """Where the file of `url` is cached: the last part of its path, as torch.hub names it."""
    name = os.path.basename(urlparse(url).path)
    if not name:
        raise DownloadError(f"{url}: the URL names no file (expected .../<name>.pth)")
    return cache_dir() / name


def hash_prefix(file_name: str) -> str | None:
    """The sha256 prefix in OpenMMLab's `name-<hex>_<yyyymmdd>.ext` or in torch.hub's
    `name-<hex>.ext` (torch.hub.HASH_REGEX), or None."""
    for regex in (OPENMMLAB_HASH_REGEX, torch.hub.HASH_REGEX):
        match = regex.search(file_name)
        if match and match.group(1):
            return match.group(1)
    return None


def resolve_checkpoint(path_or_url: str | Path) -> Path:
    """The local file of a checkpoint argument: a path as it is, a URL downloaded once.

    Raises DownloadError naming the URL for a network failure, an HTTP error, a body shorter
    than announced or a hash mismatch; nothing is cached then.
    """
    if not is_url(path_or_url):
        return Path(path_or_url)
    url = str(path_or_url)
    target = cached_file(url)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(target.parent):
        if not target.is_file():  # another process may have finished while this one waited
            _download(url, target)
    return target


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (one download at a time into it; no lock file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _download(url: str, target: Path) -> None:
    print(f"downloading {url} to {target}", file=sys.stderr)
    expected_hash = hash_prefix(target.name)
    with atomic_path(target) as temp:
        try:
            digest, size = _fetch(url, temp)
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise DownloadError(f"could not download {url}: {err}") from err
        if expected_hash and not digest.startswith(expected_hash):
            raise DownloadError(f"{url}: sha256 of the download is {digest}, but its name says "
                                f"it starts with {expected_hash} (a damaged or replaced file); "
                                "nothing was cached")
    print(f"downloaded {size:,} bytes to {target}", file=sys.stderr)


def _fetch(url: str, temp: Path) -> tuple[str, int]:
    """Stream `url` into `temp`; (sha256 hex digest, size). A body shorter than the
    Content-Length the server announced is an error."""
    sha256, size = hashlib.sha256(), 0
    request = urllib.request.Request(url, headers={"User-Agent": "hrformer"})
    with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_S) as response, \
            open(temp, "wb") as f:
        announced = response.headers.get("Content-Length")
        while chunk := response.read(CHUNK_BYTES):
            f.write(chunk)
            sha256.update(chunk)
            size += len(chunk)
        if announced is not None and size != int(announced):
            raise DownloadError(f"the server sent {size:,} of the {int(announced):,} bytes it "
                                "announced (connection closed early)")
    return sha256.hexdigest(), size
