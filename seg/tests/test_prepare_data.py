"""tools/prepare_data.py on tiny datasets written in each official download layout."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from PIL import Image

from lib.metrics.evaluate import score_folders
from lib.utils.configer import Configer
from tools.prepare_data import prepare

SEG = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
RNG = np.random.default_rng(0)
H, W = 6, 10


def _image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(RNG.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(path)


def _png_label(path: Path, values: list[int]) -> np.ndarray:
    ids = RNG.choice(values, size=(H, W)).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ids, mode="L").save(path)
    return ids


def _mat_label(path: Path, key: str, values: list[int]) -> np.ndarray:
    ids = RNG.choice(values, size=(H, W)).astype(np.uint16)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {key: ids})
    return ids


# Each writer makes an official layout and returns {(split, stem): expected raw-id label}.

def write_cityscapes(src: Path) -> dict:
    expected = {}
    for split, city, n in (("train", "aachen", 2), ("val", "frankfurt", 2), ("test", "berlin", 1)):
        for i in range(n):
            base = f"{city}_{i:06d}_000019"
            _image(src / "leftImg8bit" / split / city / f"{base}_leftImg8bit.png")
            gt = src / "gtFine" / split / city
            # The download's other gtFine files: none of them is the label.
            _png_label(gt / f"{base}_gtFine_color.png", [200])
            _png_label(gt / f"{base}_gtFine_instanceIds.png", [250])
            (gt / f"{base}_gtFine_polygons.json").write_text("{}")
            if split != "test":
                expected[split, f"{base}_leftImg8bit"] = _png_label(
                    gt / f"{base}_gtFine_labelIds.png", [0, 7, 8, 11, 24, 26, 33])
    return expected


def write_ade20k(src: Path) -> dict:
    expected = {}
    root = src / "ADEChallengeData2016"
    for split, folder, tag in (("train", "training", "train"), ("val", "validation", "val")):
        for i in (1, 2):
            stem = f"ADE_{tag}_{i:08d}"
            _image(root / "images" / folder / f"{stem}.jpg")
            expected[split, stem] = _png_label(root / "annotations" / folder / f"{stem}.png",
                                               [0, 1, 5, 150])
    return expected


def write_coco_stuff(src: Path) -> dict:
    expected = {}
    root = src / "cocostuff-10k-v1.1"
    lists = {"train": ["COCO_train2014_000000000077", "COCO_train2014_000000000078"],
             "test": ["COCO_train2014_000000000081", "COCO_train2014_000000000086"]}
    for list_name, names in lists.items():
        (root / "imageLists").mkdir(parents=True, exist_ok=True)
        (root / "imageLists" / f"{list_name}.txt").write_text("\n".join(names) + "\n")
        for name in names:
            _image(root / "images" / f"{name}.jpg")
            expected["val" if list_name == "test" else "train", name] = _mat_label(
                root / "annotations" / f"{name}.mat", "S", [0, 1, 2, 96, 182])
    return expected


# labels.txt id -> 59-class label, read off the official tables (labels.txt, 59_labels.txt).
PASCAL_59 = {0: 0, 1: 0, 2: 1, 284: 37, 458: 59, 459: 0}


def write_pascal_context(src: Path) -> dict:
    expected = {}
    voc = src / "VOCdevkit" / "VOC2010"
    for split, names in (("train", ["2008_000002", "2008_000003"]),
                         ("val", ["2008_000009", "2010_000030"])):
        (voc / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
        (voc / "ImageSets" / "Main" / f"{split}.txt").write_text("\n".join(names) + "\n")
        for name in names:
            _image(voc / "JPEGImages" / f"{name}.jpg")
            full = _mat_label(src / "trainval" / f"{name}.mat", "LabelMap", list(PASCAL_59))
            expected[split, name] = np.vectorize(PASCAL_59.get)(full)
    return expected


WRITERS = {"cityscapes": write_cityscapes, "ade20k": write_ade20k,
           "coco_stuff": write_coco_stuff, "pascal_context": write_pascal_context}
IMAGE_EXT = {"cityscapes": ".png", "ade20k": ".jpg", "coco_stuff": ".jpg",
             "pascal_context": ".jpg"}


def _read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_prepared_layout_and_labels(dataset, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    expected = WRITERS[dataset](src)
    report = prepare(dataset, src, dst)
    for (split, stem), label in expected.items():
        image = dst / split / "image" / (stem + IMAGE_EXT[dataset])
        assert image.is_file() and not image.is_symlink()
        np.testing.assert_array_equal(_read(dst / split / "label" / f"{stem}.png"), label)
    for split in ("train", "val"):
        labels = sorted(p.stem for p in (dst / split / "label").iterdir())
        assert labels == sorted(s for sp, s in expected if sp == split)
    # Tiny downloads: every split is reported as differing from the official size.
    assert all(line.startswith("WARNING") for line in report), report
    assert any("train: 2 images, the official split has" in line for line in report)
    if dataset == "cityscapes":
        test_images = sorted(p.name for p in (dst / "test" / "image").iterdir())
        assert test_images == ["berlin_000000_000019_leftImg8bit.png"]
        assert not (dst / "test" / "label").exists()


def test_link_rerun_progress_and_counts_cli(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    write_ade20k(src)
    cmd = [sys.executable, "tools/prepare_data.py", "ade20k", "--ori_root_dir", str(src),
           "--save_dir", str(dst), "--link"]
    first = subprocess.run(cmd, cwd=SEG, env=ENV, capture_output=True, text=True, check=True)
    image = dst / "val" / "image" / "ADE_val_00000001.jpg"
    assert image.is_symlink()
    assert image.resolve() == (src / "ADEChallengeData2016/images/validation"
                               / "ADE_val_00000001.jpg").resolve()
    assert "ade20k train: 2 written, 0 already done" in first.stdout
    assert "2/2" in first.stderr          # the progress bar's count
    assert ("WARNING: ade20k train: 2 images, the official split has 20210 (-20208; "
            "partial download?)") in first.stdout
    (dst / "val" / "label" / "ADE_val_00000002.png").unlink()   # an interrupted run
    second = subprocess.run(cmd, cwd=SEG, env=ENV, capture_output=True, text=True, check=True)
    assert "ade20k train: 0 written, 2 already done" in second.stdout
    assert "ade20k val: 1 written, 1 already done" in second.stdout
    assert (dst / "val" / "label" / "ADE_val_00000002.png").is_file()


def test_official_sizes_are_reported_as_matching(tmp_path, monkeypatch):
    from tools.prepare import ade20k
    monkeypatch.setattr(ade20k, "SPLITS", {"train": ("training", 2), "val": ("validation", 2)})
    write_ade20k(tmp_path / "src")
    report = prepare("ade20k", tmp_path / "src", tmp_path / "dst")
    assert report == ["ade20k train: 2 images, as the official split",
                      "ade20k val: 2 images, as the official split"]


def test_image_without_label_names_both_paths(tmp_path):
    src = tmp_path / "src"
    write_cityscapes(src)
    label = src / "gtFine/val/frankfurt/frankfurt_000001_000019_gtFine_labelIds.png"
    label.unlink()
    with pytest.raises(FileNotFoundError) as err:
        prepare("cityscapes", src, tmp_path / "dst")
    assert str(label) in str(err.value)
    assert "frankfurt_000001_000019_leftImg8bit.png" in str(err.value)
    assert not (tmp_path / "dst").exists()    # checked before anything is written


@pytest.mark.parametrize("dataset, bad", [("cityscapes", 34), ("ade20k", 151),
                                          ("coco_stuff", 183), ("pascal_context", 460)])
def test_label_value_outside_raw_ids_names_file(dataset, bad, tmp_path):
    src = tmp_path / "src"
    WRITERS[dataset](src)
    if dataset == "coco_stuff":
        path = src / "cocostuff-10k-v1.1/annotations/COCO_train2014_000000000081.mat"
        scipy.io.savemat(path, {"S": np.full((H, W), bad, dtype=np.uint16)})
    elif dataset == "pascal_context":
        path = src / "trainval/2010_000030.mat"
        scipy.io.savemat(path, {"LabelMap": np.full((H, W), bad, dtype=np.uint16)})
    else:
        path = next((src).rglob("*labelIds.png" if dataset == "cityscapes"
                                else "annotations/validation/*.png"))
        Image.fromarray(np.full((H, W), bad, dtype=np.uint8), mode="L").save(path)
    with pytest.raises(ValueError, match=f"{path}: label values \\[{bad}\\]"):
        prepare(dataset, src, tmp_path / "dst")


def test_coarse_adds_train_extra(tmp_path):
    src = tmp_path / "src"
    write_cityscapes(src)
    base = "bad_honnef_000000_000000"
    _image(src / "leftImg8bit/train_extra/bad_honnef" / f"{base}_leftImg8bit.png")
    label = _png_label(src / "gtCoarse/train_extra/bad_honnef" / f"{base}_gtCoarse_labelIds.png",
                       [0, 7, 26])
    prepare("cityscapes", src, tmp_path / "dst", coarse=True)
    np.testing.assert_array_equal(
        _read(tmp_path / "dst/train_extra/label" / f"{base}_leftImg8bit.png"), label)


# The official id tables, as the configs hold them: raw id -> train id (None = ignored).
CONFIG_DIR = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco_stuff": "coco_stuff",
              "pascal_context": "pascal_context"}
SWAP = {"cityscapes": (26, 24), "ade20k": (5, 1), "coco_stuff": (96, 1),
        "pascal_context": (37, 1)}


def _train_id(data: dict, raw: int) -> int | None:
    listed = data.get("label_list")
    if listed and raw not in listed:
        return None
    index = listed.index(raw) if listed else raw
    if data.get("reduce_zero_label"):
        return None if index == 0 else index - 1
    return index


def _expected_swap_miou(gt_dir: Path, data: dict, a: int, b: int) -> float:
    """Class a predicted as b everywhere: IoU(a) = 0, IoU(b) = |b| / (|a| + |b|), every other
    class present in the ground truth 1; the mean over classes present."""
    counts: dict[int, int] = {}
    for path in gt_dir.glob("*.png"):
        for raw, n in zip(*np.unique(_read(path), return_counts=True)):
            train = _train_id(data, int(raw))
            if train is not None:
                counts[train] = counts.get(train, 0) + int(n)
    ta, tb = _train_id(data, a), _train_id(data, b)
    ious = [0.0 if c == ta else counts[c] / (counts[c] + counts.get(ta, 0)) if c == tb else 1.0
            for c in counts]
    return float(np.mean(ious))


@pytest.mark.parametrize("dataset", sorted(WRITERS))
def test_evaluate_on_prepared_val(dataset, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    WRITERS[dataset](src)
    prepare(dataset, src, dst)
    config = SEG / "configs" / CONFIG_DIR[dataset] / "H_48_D_4.json"
    gt = dst / "val" / "label"
    out = subprocess.run([sys.executable, "-m", "lib.metrics.evaluate", "--configs", str(config),
                          "--pred_dir", str(gt), "--gt_dir", str(gt)],
                         cwd=SEG, env=ENV, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["mIoU"] == 1.0
    a, b = SWAP[dataset]
    pred = tmp_path / "pred"
    pred.mkdir()
    for path in gt.glob("*.png"):
        ids = _read(path)
        swapped = np.where(ids == a, b, ids).astype(np.uint8)
        Image.fromarray(swapped, mode="L").save(pred / path.name)
    data = json.loads(config.read_text())["data"]
    score = score_folders(Configer.from_file(str(config)), pred, gt)
    assert score.miou() == pytest.approx(_expected_swap_miou(gt, data, a, b), abs=1e-12)
    assert score.miou() < 1.0


def test_upper_case_suffixes_are_found(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    expected = write_ade20k(src)
    for image in (src / "ADEChallengeData2016" / "images").rglob("*.jpg"):
        image.rename(image.with_suffix(".JPG"))
    prepare("ade20k", src, dst)
    for (split, stem), label in expected.items():
        assert (dst / split / "image" / f"{stem}.jpg").is_file()
        np.testing.assert_array_equal(_read(dst / split / "label" / f"{stem}.png"), label)


@pytest.mark.parametrize("dataset", ["ade20k", "cityscapes"])
def test_a_source_without_images_is_an_error_naming_what_was_searched(dataset, tmp_path):
    src = tmp_path / "src"
    WRITERS[dataset](src)
    for image in [*src.rglob("*.jpg"), *src.rglob("*_leftImg8bit.png")]:
        image.unlink()
    with pytest.raises(FileNotFoundError, match=r"train: no images found; searched .*"
                                                r"\(any letter case\) in .*(training|train)$"):
        prepare(dataset, src, tmp_path / "dst")
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize("link", [False, True])
def test_rerun_redoes_a_file_cut_short_under_its_final_name(link, tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    expected = write_ade20k(src)
    prepare("ade20k", src, dst, link=link)
    image = dst / "val" / "image" / "ADE_val_00000001.jpg"
    label = dst / "val" / "label" / "ADE_val_00000002.png"
    whole_image = image.read_bytes()
    image.unlink()
    image.write_bytes(whole_image[:len(whole_image) // 2])   # a copy cut short, a plain file
    label.write_bytes(label.read_bytes()[:40])
    stale = label.with_name(f".{label.name}.tmp-999999")     # a killed write's temp file
    stale.write_bytes(b"partial")
    prepare("ade20k", src, dst, link=link)
    assert image.is_symlink() == link and image.read_bytes() == whole_image
    np.testing.assert_array_equal(_read(label), expected["val", "ADE_val_00000002"])
    assert not stale.exists()
