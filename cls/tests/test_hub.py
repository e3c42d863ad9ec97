"""Checkpoint URLs (hrformer_common.hub): downloaded once into torch's hub cache from a local
HTTP server (also when two ask at once); a wrong hash prefix, a 404, a connection closed early
or refused leave no cached file."""
from __future__ import annotations

import hashlib
import io
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest
import torch
from torch import nn

from hrformer_common.checkpoint import load_checkpoint
from hrformer_common.hub import DownloadError, resolve_checkpoint
from hrformer_common.testing.http_server import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as serving:
        yield serving


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    """torch's checkpoint cache, redirected into the test's folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def checkpoint_bytes() -> tuple[bytes, dict]:
    torch.manual_seed(0)
    state = {"model": nn.Linear(4, 3).state_dict()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue(), state


def cached_names(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir())


def test_a_url_is_downloaded_once_and_its_hash_prefix_checked(server: LoopbackServer,
                                                             cache: Path) -> None:
    data, state = checkpoint_bytes()
    name = f"tiny-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    server.files[f"/weights/{name}"] = data
    url = f"{server.url}/weights/{name}"

    path = resolve_checkpoint(url)
    assert path == cache / name and path.read_bytes() == data
    assert server.requests == [f"/weights/{name}"]
    loaded = load_checkpoint(url)  # the loaders take the URL itself
    assert torch.equal(loaded["model"]["weight"], state["model"]["weight"])
    assert resolve_checkpoint(url) == path
    assert len(server.requests) == 1  # the cached file served the second and third call
    assert cached_names(cache) == [name]  # no temporary file left


def test_processes_asking_at_once_download_once(server: LoopbackServer,
                                                cache: Path) -> None:
    data, _ = checkpoint_bytes()
    server.files["/tiny.pth"] = data
    server.delay_s = 0.3  # both ask while the first download is under way
    found: list[Path] = []
    threads = [threading.Thread(target=lambda: found.append(resolve_checkpoint(
        f"{server.url}/tiny.pth"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [cache / "tiny.pth"] * 2 and server.requests == ["/tiny.pth"]


def test_a_wrong_hash_prefix_is_refused_and_not_cached(server: LoopbackServer,
                                                       cache: Path) -> None:
    data, _ = checkpoint_bytes()
    wrong = "0" * 8 if not hashlib.sha256(data).hexdigest().startswith("0" * 8) else "1" * 8
    server.files[f"/tiny-{wrong}.pth"] = data
    url = f"{server.url}/tiny-{wrong}.pth"
    with pytest.raises(DownloadError, match=rf"{url}: sha256 .* starts with {wrong}"):
        resolve_checkpoint(url)
    assert cached_names(cache) == []


def test_an_interrupted_download_leaves_no_cached_file(server: LoopbackServer,
                                                       cache: Path) -> None:
    data, _ = checkpoint_bytes()
    server.files["/tiny.pth"] = data
    server.cut.add("/tiny.pth")
    url = f"{server.url}/tiny.pth"
    with pytest.raises(DownloadError, match=rf"could not download {url}: the server sent "
                                            rf"{len(data) // 2:,} of the {len(data):,} bytes"):
        resolve_checkpoint(url)
    assert cached_names(cache) == []
    with pytest.raises(DownloadError, match=rf"could not download {server.url}/gone\.pth: "
                                            r"HTTP Error 404"):
        resolve_checkpoint(f"{server.url}/gone.pth")
    assert cached_names(cache) == []
    server.cut.clear()  # the next try downloads the whole file
    assert resolve_checkpoint(url).read_bytes() == data


def test_unreachable_servers_and_nameless_urls_are_named(cache: Path) -> None:
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/tiny.pth"
    with pytest.raises(DownloadError, match=rf"could not download {url}: .*refused"):
        resolve_checkpoint(url)
    assert cached_names(cache) == []
    with pytest.raises(DownloadError, match=r"http://127\.0\.0\.1/weights/: the URL names no file"):
        resolve_checkpoint("http://127.0.0.1/weights/")


def test_local_paths_are_left_as_they_are(tmp_path: Path) -> None:
    assert resolve_checkpoint("ckpts/hrt_small.pth") == Path("ckpts/hrt_small.pth")
    assert resolve_checkpoint(tmp_path / "https:" / "x.pth") == tmp_path / "https:" / "x.pth"
    with pytest.raises(FileNotFoundError, match=r"checkpoint not found: .*missing\.pth"):
        load_checkpoint(tmp_path / "missing.pth")
