"""apis.ClsInferencer and tools/predict.py on the images users bring: real photos, arrays, PIL
images, 16-bit, EXIF-rotated, gray, RGBA, tiny and broken files; the command's output path
checked before any work, bad input ending in `predict.py: error:` with exit status 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from apis import ClsInferencer
from config import load_config
from hrformer_common.images import ImageReadError
from hrformer_common.outputs import OutputPathError
from hrformer_common.testing import fixture, sample_photos
from test_official_checkpoint import micro_yaml, official_file
from tools import predict

pytestmark = pytest.mark.usefixtures("one_thread")
CLS_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def micro(tmp_path_factory) -> tuple[Path, Path]:
    """A 10-class micro classifier (32x32 input): its yaml config and a released-layout file."""
    tmp = tmp_path_factory.mktemp("cls_infer")
    cfg = micro_yaml(tmp, fixture("cls_micro"))
    return cfg, official_file(tmp / "micro.pth", "cls_micro", load_config(cfg))


@pytest.fixture(scope="module")
def classify(micro) -> ClsInferencer:
    cfg, ckpt = micro
    return ClsInferencer(str(cfg), str(ckpt), topk=3, threads=1)


def _probabilities(result: dict) -> list[tuple[int, float]]:
    return [(t["class_id"], t["probability"]) for t in result["topk"]]


def test_results_have_the_documented_format_on_real_photos(classify) -> None:
    results = classify(sample_photos())
    assert len(results) == 2
    for result in results:
        assert list(result) == ["topk"] and len(result["topk"]) == 3
        assert all(list(t) == ["class_id", "name", "probability"] for t in result["topk"])
        probs = [t["probability"] for t in result["topk"]]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert [t["name"] for t in result["topk"]] == [str(t["class_id"]) for t in result["topk"]]
    assert _probabilities(results[0]) != _probabilities(results[1])  # the image matters


def test_a_path_an_array_and_a_pil_image_give_the_same_result(classify) -> None:
    photo = sample_photos()[1]
    pixels = np.asarray(Image.open(photo).convert("RGB"))
    by_path = classify(photo)
    assert classify(str(photo)) == by_path
    assert classify(pixels) == by_path
    assert classify(Image.open(photo)) == by_path
    assert classify([pixels, photo], batch_size=1) == [by_path, by_path]
    assert classify([]) == []


def test_16bit_png_gives_the_prediction_of_the_8bit_picture(classify, tmp_path) -> None:
    """Issue 16, row 1: not turned white; read as the training code reads the 8-bit file."""
    pixels = np.asarray(Image.open(sample_photos()[0]).convert("RGB"))
    Image.fromarray(pixels).save(tmp_path / "flat.png")
    cv2.imwrite(str(tmp_path / "deep.png"), pixels[:, :, ::-1].astype(np.uint16) * 257)
    assert cv2.imread(str(tmp_path / "deep.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    white = classify(np.full_like(pixels, 255))
    assert classify(tmp_path / "deep.png") == classify(tmp_path / "flat.png") != white


def test_exif_orientation_is_applied(classify, tmp_path) -> None:
    """Issue 16, row 2: a phone photo stored landscape with orientation 6 (shown rotated 90
    degrees clockwise) is classified as shown."""
    stored = np.asarray(Image.open(sample_photos()[1]).convert("RGB").resize((320, 240)))
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    decoded = np.asarray(Image.open(tmp_path / "phone.jpg").convert("RGB"))
    upright = np.ascontiguousarray(np.rot90(decoded, k=-1))
    assert upright.shape == (320, 240, 3)
    assert classify(tmp_path / "phone.jpg") == classify(upright) != classify(decoded)


def test_gray_rgba_and_tiny_images_are_classified(classify, tmp_path) -> None:
    pixels = np.asarray(Image.open(sample_photos()[0]).convert("RGB").resize((64, 48)))
    gray = Image.fromarray(pixels).convert("L")
    rgba = Image.fromarray(np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)]))
    gray.save(tmp_path / "gray.png")
    rgba.save(tmp_path / "rgba.png")
    Image.fromarray(pixels[:2, :3]).save(tmp_path / "tiny.png")
    assert classify(tmp_path / "gray.png") == classify(np.asarray(gray.convert("RGB")))
    assert classify(tmp_path / "rgba.png") == classify(pixels)
    assert len(classify(tmp_path / "tiny.png")["topk"]) == 3


def test_bad_arrays_and_options_are_named(classify, micro) -> None:
    with pytest.raises(ValueError, match=r"shape \(8, 8\) and dtype float32: expected RGB "
                                         r"uint8 H x W x 3"):
        classify(np.zeros((8, 8), np.float32))
    with pytest.raises(TypeError, match="image of type int"):
        classify(3)
    cfg, ckpt = micro
    with pytest.raises(ValueError, match=r"model 'hrt_huge': expected one of \['hrt_tiny'"):
        ClsInferencer("hrt_huge", str(ckpt))
    with pytest.raises(ValueError, match="device 'cuda:0' with backend onnxruntime"):
        ClsInferencer(str(cfg), str(ckpt), backend="onnxruntime", device="cuda:0")


def test_the_command_returns_what_the_api_returns(classify, micro, tmp_path) -> None:
    """One folder: the real photos, a sub-folder, and a file that is not an image (skipped)."""
    cfg, ckpt = micro
    (tmp_path / "photos" / "more").mkdir(parents=True)
    hopper, china = sample_photos()
    (tmp_path / "photos" / hopper.name).write_bytes(hopper.read_bytes())
    (tmp_path / "photos" / "more" / china.name).write_bytes(china.read_bytes())
    (tmp_path / "photos" / "notes.txt").write_text("not an image")
    rows, status = predict.main([str(tmp_path / "photos"), "--model", str(cfg), "--checkpoint",
                                 str(ckpt), "--topk", "3", "--threads", "1",
                                 "--out", str(tmp_path / "preds.json")])
    assert status == 0
    images = [tmp_path / "photos" / hopper.name, tmp_path / "photos" / "more" / china.name]
    assert [row["image"] for row in rows] == [str(p) for p in images]
    assert [{"topk": row["topk"]} for row in rows] == classify(images)
    assert json.loads((tmp_path / "preds.json").read_text()) == rows


def test_output_paths_are_checked_before_any_work(tmp_path) -> None:
    """Issue 16, row 9: no suffix, a path under a file, an unwritable folder: an error naming
    the path before the model is loaded (the checkpoint does not even exist)."""
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "a_file").write_text("")
    unwritable = Path("/proc/1") if os.geteuid() == 0 else tmp_path / "read_only"
    if os.geteuid() != 0:
        unwritable.mkdir()
        unwritable.chmod(0o555)
    base = [str(tmp_path / "a.png"), "--model", "hrt_tiny", "--checkpoint", "missing.pth"]
    for output, expected in ((tmp_path / "out", "expected a file name ending in .csv or .json"),
                             (tmp_path / "a_file" / "p.csv", "a_file is a file, not a folder"),
                             (unwritable / "p.csv", "cannot write in")):
        with pytest.raises(OutputPathError, match=f"--out {output}: .*{expected}"):
            predict.main([*base, "--out", str(output)])


def test_a_truncated_jpeg_is_named(micro, tmp_path) -> None:
    """Issue 16, row 10: given alone, it is bad input named before the model loads (the
    checkpoint does not exist); in a folder it is skipped (issue 24, row 3)."""
    cfg, _ = micro
    data = sample_photos()[0].read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageReadError, match=f"cannot read image {tmp_path / 'cut.jpg'}"):
        predict.main([str(tmp_path / "cut.jpg"), "--cfg", str(cfg), "--checkpoint",
                      str(tmp_path / "missing.pth"), "--threads", "1"])


def test_bad_input_on_the_command_line_exits_2_without_a_traceback(tmp_path) -> None:
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    done = subprocess.run(
        [sys.executable, "tools/predict.py", str(tmp_path / "a.png"), "--model", "hrt_tiny",
         "--checkpoint", "missing.pth", "--out", str(tmp_path / "out")],
        cwd=CLS_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"predict.py: error: --out {tmp_path / 'out'}: expected a "
                                   "file name ending in .csv or .json")


def test_class_names_stored_in_the_checkpoint_name_the_results_and_the_export(micro, tmp_path,
                                                                              capsys) -> None:
    """Issue 23: a fine-tuned checkpoint carries its folders' class names; the inferencer, the
    predict table and the exported model card use them (the caller's names still win)."""
    import torch
    from hrformer_common.checkpoint import load_checkpoint
    from hrformer_common.model_card import read_card
    from tools import export
    cfg, ckpt = micro
    names = [f"class_{chr(ord('a') + i)}" for i in range(10)]
    named = tmp_path / "named.pth"
    torch.save({"model": load_checkpoint(ckpt)["model"], "class_names": names}, named)
    photo = sample_photos()[1]
    result = ClsInferencer(str(cfg), str(named), topk=3, threads=1)(photo)
    assert [t["name"] for t in result["topk"]] == [names[t["class_id"]] for t in result["topk"]]
    given = ClsInferencer(str(cfg), str(named), topk=1, class_names=list("0123456789"))(photo)
    assert given["topk"][0]["name"] == str(given["topk"][0]["class_id"])
    rows, _ = predict.main([str(photo), "--model", str(cfg), "--checkpoint", str(named),
                            "--topk", "1", "--out", str(tmp_path / "p.json"), "--threads", "1"])
    assert rows[0]["topk"][0]["name"] == names[rows[0]["topk"][0]["class_id"]]
    assert export.main(["--model", str(cfg), "--checkpoint", str(named), "--input-size", "32",
                        "--out", str(tmp_path / "named.onnx")]) == 0
    assert read_card(tmp_path / "named.onnx").labels == tuple(names)
    torch.save({"model": load_checkpoint(ckpt)["model"], "class_names": names[:3]}, named)
    with pytest.raises(ValueError, match=r"named.pth: 'class_names' must be 10 strings"):
        ClsInferencer(str(cfg), str(named))
