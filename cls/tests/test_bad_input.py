"""Issue 24 on the cls surfaces (tools/predict.py, apis.ClsInferencer, tools/export.py): bad
input named before the model loads, folder runs that skip unreadable files and exit 1, a
predictions table never replaced unless asked (and never one another run wrote meanwhile)."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from apis import ClsInferencer
from hrformer_common.atomic import FileAppearedError
from hrformer_common.outputs import OutputPathError
from hrformer_common.testing import sample_photos
from hrformer_common.testing.bad_input import (argparse_error, check_named_before_loading,
                                               write_unreadable_images)
from test_inferencer import classify, micro  # noqa: F401  (pytest fixtures)
from tools import export, predict

pytestmark = pytest.mark.usefixtures("one_thread")
CLS_ROOT = Path(__file__).resolve().parents[1]


def _photos(folder: Path) -> list[Path]:
    """The two sample photos copied into `folder` (sorted)."""
    folder.mkdir(parents=True, exist_ok=True)
    return sorted(Path(shutil.copy(photo, folder / photo.name)) for photo in sample_photos())


def _table(path: Path) -> dict[str, list[tuple[str, str]]]:
    """image -> its (class_id, probability) lines, as the CSV has them."""
    rows: dict[str, list[tuple[str, str]]] = {}
    with open(path) as f:
        for line in csv.DictReader(f):
            rows.setdefault(line["image"], []).append((line["class_id"], line["probability"]))
    return rows


def test_row2_corrupt_onnx_huge_image_and_negative_threads_are_named(micro,
                                                                     tmp_path) -> None:
    """Named before the model loads (the checkpoint does not exist)."""
    cfg, _ = micro
    photo = _photos(tmp_path / "photos")[0]
    check_named_before_loading(
        predict.main, lambda image, flags: [str(image), "--model", str(cfg), "--checkpoint",
                                            str(tmp_path / "missing.pth"), *flags],
        tmp_path, photo)
    with pytest.raises(FileNotFoundError, match=f"ONNX model not found: {tmp_path}/no.onnx"):
        predict.main([str(photo), "--model", str(cfg), "--checkpoint", "missing.pth",
                      "--backend", "onnxruntime", "--onnx", str(tmp_path / "no.onnx")])
    with pytest.raises(ValueError, match=r"threads \(--threads\) = -1; expected an integer"):
        ClsInferencer(str(cfg), str(tmp_path / "missing.pth"), threads=-1)


def test_row3_a_folder_run_skips_unreadable_files_lists_them_and_exits_1(micro,
                                                                         tmp_path) -> None:
    """A truncated JPEG, macOS's `._` file, an empty and a text file named as images are
    skipped; a folder named `album.png` is searched, not read; a rerun with --skip-existing
    keeps the table's rows and adds the images it lacks (the truncated one, repaired)."""
    cfg, ckpt = micro
    folder = tmp_path / "photos"
    good = _photos(folder) + _photos(folder / "album.png")
    bad = write_unreadable_images(folder, sample_photos()[0])
    table = tmp_path / "preds.csv"
    done = subprocess.run(
        [sys.executable, "tools/predict.py", str(folder), "--model", str(cfg), "--checkpoint",
         str(ckpt), "--threads", "1", "--topk", "2", "--out", str(table)],
        cwd=CLS_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    listing = done.stderr.split("4 file(s) could not be read and were skipped:\n")[1]
    assert listing.splitlines() == [f"  {path}" for path in bad]
    assert f"skipped: cannot read image {folder / 'cut.jpg'}: image file is truncated" \
        in done.stderr
    first = _table(table)
    assert sorted(first) == sorted(map(str, good)) and all(len(v) == 2 for v in first.values())
    (folder / "cut.jpg").write_bytes(sample_photos()[0].read_bytes())  # repaired
    rows, status = predict.main([str(folder), "--model", str(cfg), "--checkpoint", str(ckpt),
                                 "--threads", "1", "--topk", "2", "--out", str(table),
                                 "--skip-existing"])
    assert status == 1 and [row["image"] for row in rows] == [str(folder / "cut.jpg")]
    second = _table(table)
    assert second == {**first, str(folder / "cut.jpg"): second[str(folder / "cut.jpg")]}
    assert second[str(folder / "cut.jpg")] == first[str(folder / sample_photos()[0].name)]
    with pytest.raises(ValueError, match=rf"{table}: its rows list 2 classes per image, this "
                                         r"run 3 \(--topk\)"):
        predict.main([str(folder), "--model", str(cfg), "--checkpoint", str(ckpt),
                      "--topk", "3", "--out", str(table), "--skip-existing"])


def test_row5_a_table_another_run_wrote_meanwhile_is_never_replaced(micro, tmp_path,
                                                                    monkeypatch) -> None:
    cfg, ckpt = micro
    photos = _photos(tmp_path / "photos")
    table = tmp_path / "preds.json"
    classify_files = predict.classify_files

    def another_run_finishes_first(*args):
        rows = classify_files(*args)
        table.write_text('[{"image": "other run", "topk": []}]')
        return rows
    monkeypatch.setattr(predict, "classify_files", another_run_finishes_first)
    with pytest.raises(FileAppearedError, match=f"{table} appeared while this run was writing"):
        predict.main([str(photos[0]), "--model", str(cfg), "--checkpoint", str(ckpt),
                      "--threads", "1", "--out", str(table)])
    assert json.loads(table.read_text()) == [{"image": "other run", "topk": []}]


def test_row6_an_existing_table_is_refused_or_replaced_with_overwrite(micro,
                                                                      tmp_path) -> None:
    cfg, ckpt = micro
    photo = _photos(tmp_path / "photos")[0]
    table = tmp_path / "p.csv"
    table.write_text("kept\n")
    base = [str(photo), "--model", str(cfg), "--threads", "1", "--out", str(table)]
    with pytest.raises(OutputPathError, match=rf"output {table} exists; results never replace "
                                              r"a file: --skip-existing .* --overwrite"):
        predict.main([*base, "--checkpoint", str(tmp_path / "missing.pth")])  # before loading
    assert table.read_text() == "kept\n"
    with pytest.raises(ValueError, match=rf"{table}: not a table of predict.py \(columns "
                                         r"\['kept'\]"):
        predict.main([*base, "--checkpoint", str(ckpt), "--skip-existing"])
    rows, status = predict.main([*base, "--checkpoint", str(ckpt), "--overwrite"])
    assert status == 0 and list(_table(table)) == [str(photo)]
    assert _table(table)[str(photo)][0][0] == str(rows[0]["topk"][0]["class_id"])
    assert argparse_error(predict.main, [str(photo), "--model", str(cfg), "--checkpoint",
                                         str(ckpt), "--overwrite"]) == (
        "--skip-existing and --overwrite apply to the table of --out")


def test_row12_onnx_with_backend_torch_is_refused_before_any_work(micro, tmp_path) -> None:
    cfg, _ = micro
    photo = _photos(tmp_path / "photos")[0]
    with pytest.raises(ValueError, match=r"--onnx missing.onnx: an exported file runs under "
                                         r"--backend onnxruntime or openvino"):
        predict.main([str(photo), "--model", str(cfg), "--checkpoint", "missing.pth",
                      "--onnx", "missing.onnx"])
    with pytest.raises(ValueError, match="--onnx m.onnx: an exported file runs under"):
        ClsInferencer(str(cfg), "missing.pth", onnx="m.onnx")


@pytest.mark.parametrize("value", [-1, 0, True, 2.5, "4"])
def test_row13_bad_call_arguments_are_value_errors_naming_the_value(micro, classify,
                                                                    value) -> None:
    """`classify(images, batch_size=-1)` returned [] for 3 images; now an error, as a bad
    `topk` is (before the model loads: the checkpoint does not exist)."""
    photos = sample_photos()
    with pytest.raises(ValueError, match=rf"^batch_size={value!r}: expected an integer >= 1"):
        classify(photos, batch_size=value)
    with pytest.raises(ValueError, match=rf"^topk={value!r}: expected an integer >= 1"):
        ClsInferencer(str(micro[0]), "missing.pth", topk=value)
    assert classify(photos, batch_size=np.int64(1)) == [classify(p) for p in photos]


def test_export_names_bad_output_and_sizes_before_loading(tmp_path) -> None:
    """The export's --out is checked before the model loads; sizes are positive."""
    base = ["--model", "hrt_tiny", "--checkpoint", str(tmp_path / "missing.pth")]
    with pytest.raises(OutputPathError, match=r"--out model.txt: expected a file name ending "
                                              r"in \.onnx"):
        export.main([*base, "--out", "model.txt"])
    (tmp_path / "model.onnx").mkdir()
    with pytest.raises(OutputPathError, match="model.onnx: is a folder; give a file name"):
        export.main([*base, "--out", str(tmp_path / "model.onnx")])
    for flag, value in (("--input-size", "0"), ("--verify-batch", "-2")):
        assert argparse_error(export.main, [*base, "--out", str(tmp_path / "m.onnx"), flag,
                                            value]) == (
            f"argument {flag}: '{value}': expected an integer >= 1")
