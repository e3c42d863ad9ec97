"""Both ImageNet layouts, samplers, and the errors for bad paths and corrupt images."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from conftest import TINY_CONFIG
from config import load_config
from data import CorruptImageError, DataLayoutError, build_loaders, detect_zip_layout
from data.datasets import ImageFolderDataset, ZipImageDataset
from data.samplers import ShardSampler, ShuffledShardSampler
from datagen import CLASSES

pytestmark = pytest.mark.usefixtures("one_thread")


def config_for(path: Path, *opts: str):
    return load_config(TINY_CONFIG, ["DATA.DATA_PATH", str(path), *opts])


def test_layout_detection(folder_data: Path, zip_data: Path, tmp_path: Path) -> None:
    assert detect_zip_layout(folder_data) is False
    assert detect_zip_layout(zip_data) is True
    with pytest.raises(DataLayoutError, match=r"data path not found: .*nowhere"):
        detect_zip_layout(tmp_path / "nowhere")
    (tmp_path / "train.zip").touch()
    with pytest.raises(DataLayoutError, match=r"train/<class>.*val_map\.txt.*found only"):
        detect_zip_layout(tmp_path)


def test_folder_and_zip_layouts_give_the_same_samples(folder_data: Path, zip_data: Path) -> None:
    for split in ("train", "val"):
        folder = ImageFolderDataset(folder_data / split)
        zipped = ZipImageDataset(zip_data, split, cache_mode="no")
        assert folder.targets == zipped.targets
        assert len(folder) == 3 * (4 if split == "train" else 3)
        assert folder.classes == list(CLASSES)
        for i in (0, len(folder) - 1):
            a, b = folder[i][0], zipped[i][0]
            assert a.size == b.size == (36, 36)
            assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("layout", ["folder", "zip"])
def test_loaders_yield_transformed_batches(layout: str, request) -> None:
    root = request.getfixturevalue(f"{layout}_data")
    config = config_for(root)
    train_set, val_set, train_loader, val_loader = build_loaders(config)
    assert isinstance(val_set, ZipImageDataset if layout == "zip" else ImageFolderDataset)
    assert config.DATA.ZIP_MODE is False  # detected, not written back (main.py resolves it)
    images, targets, skipped = next(iter(train_loader))
    assert images.shape == (4, 3, 32, 32) and targets.dtype == torch.int64 and skipped == 0
    assert len(train_loader) == 3  # 12 images, batches of 4, drop_last
    val_images, _, _ = next(iter(val_loader))
    assert val_images.shape[1:] == (3, 32, 32)
    assert sum(len(t) for _, t, _ in val_loader) == len(val_set) == 9


def test_shard_samplers_split_without_overlap_or_padding() -> None:
    shards = [list(ShardSampler(9, r, 2)) for r in range(2)]
    assert sorted(shards[0] + shards[1]) == list(range(9)) and len(shards[0]) == 5
    sampler = ShuffledShardSampler(9, 1, 2, seed=3)
    sampler.set_epoch(0)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(first) == sorted(second) == [1, 3, 5, 7]
    sampler.set_epoch(0)
    assert list(sampler) == first  # a resumed run sees the same order


def test_corrupt_image_is_named_or_skipped(folder_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(folder_data, root)
    bad = root / "train" / CLASSES[1] / "broken.png"
    bad.write_bytes(b"not an image")
    dataset = ImageFolderDataset(root / "train")
    index = [p for p, _ in dataset.samples].index(str(bad))
    with pytest.raises(CorruptImageError, match="broken.png"):
        dataset[index]
    config = config_for(root, "DATA.SKIP_CORRUPT", "True", "DATA.BATCH_SIZE", "13")
    train_set, _, train_loader, _ = build_loaders(config)
    assert len(train_set) == 13
    images, targets, skipped = next(iter(train_loader))
    assert skipped == 1 and len(images) == len(targets) == 12


def test_bad_folder_layouts_fail_before_training(folder_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    shutil.copytree(folder_data, root)
    (root / "train" / "n999").mkdir()
    with pytest.raises(DataLayoutError, match=r"class folder .*n999 holds no images"):
        build_loaders(config_for(root))
    with pytest.raises(DataLayoutError, match="--zip given"):
        build_loaders(config_for(folder_data, "DATA.ZIP_MODE", "True"))
    with pytest.raises(DataLayoutError, match="MODEL.NUM_CLASSES=2"):
        build_loaders(config_for(folder_data, "MODEL.NUM_CLASSES", "2"))


def test_bad_zip_layouts_name_the_file(zip_data: Path, tmp_path: Path) -> None:
    root = tmp_path / "zipdata"
    shutil.copytree(zip_data, root)
    (root / "val_map.txt").write_text("n001/x.png\tnot-a-number\n")
    with pytest.raises(DataLayoutError, match=r"val_map\.txt:1: expected"):
        ZipImageDataset(root, "val")
    (root / "val_map.txt").write_text("n001/missing.png\t0\n")
    with pytest.raises(DataLayoutError, match=r"val\.zip: 1 images .*missing\.png"):
        ZipImageDataset(root, "val")
    (root / "val_map.txt").write_text("n001/notes.txt\t0\n")
    with pytest.raises(DataLayoutError, match=r"notes\.txt.*does not end in"):
        ZipImageDataset(root, "val")


def test_zip_part_cache_holds_only_this_ranks_share(zip_data: Path) -> None:
    dataset = ZipImageDataset(zip_data, "train", cache_mode="part", rank=1, world_size=2)
    assert sorted(dataset.cache) == list(range(1, 12, 2))
    assert dataset[3][1] == dataset.targets[3] and dataset[2][0].size == (36, 36)
