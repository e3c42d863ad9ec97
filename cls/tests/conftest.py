"""Shared fixtures for the training tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from datagen import make_folder_layout, make_zip_layout

CLS_ROOT = Path(__file__).resolve().parents[1]
TINY_CONFIG = CLS_ROOT / "tests" / "configs" / "tiny.yaml"


@pytest.fixture
def one_thread():
    """One torch thread during a test: on a shared 2-core machine, two OpenMP threads competing
    with other processes are several times slower. Restored afterwards, because the numerics
    of some kernels (checked by test_core.py) depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def folder_data(tmp_path_factory) -> Path:
    return make_folder_layout(tmp_path_factory.mktemp("imagenet_folder"))


@pytest.fixture(scope="session")
def zip_data(folder_data: Path, tmp_path_factory) -> Path:
    return make_zip_layout(folder_data, tmp_path_factory.mktemp("imagenet_zip"))
