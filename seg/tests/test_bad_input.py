"""Issue 24 on the seg surfaces (tools/predict.py, lib.apis.SegInferencer, tools/export.py):
bad input named before the model loads, folder runs that skip unreadable files and exit 1,
results that never replace a file unless asked (nor one another run wrote meanwhile), an
output folder never read back as input, progress over windows and images."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hrformer_common.atomic import FileAppearedError
from hrformer_common.outputs import OutputPathError
from hrformer_common.testing import sample_photos
from hrformer_common.testing.bad_input import (argparse_error, check_named_before_loading,
                                               write_unreadable_images)
from lib.apis import SegInferencer
from test_inferencer import checkpoint, segment  # noqa: F401  (pytest fixtures)
from test_inferencer import CITYSCAPES, micro_args, small_photo
from tools import export, predict

SEG = Path(__file__).resolve().parents[1]


@pytest.fixture
def run(micro_layout, checkpoint):
    """predict.main on the micro model: run(images, out, *flags) -> (written, status)."""
    def run_predict(images: Path, out: Path, *flags: str) -> tuple[list[Path], int]:
        return predict.main([str(images), *micro_args(micro_layout), "--checkpoint",
                             str(checkpoint), "--out", str(out), "--threads", "1", *flags])
    return run_predict


def _photos(folder: Path, count: int = 2) -> list[Path]:
    """`count` small photos a.png, b.png, ... in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    pixels = small_photo((40, 32))
    paths = [folder / f"{chr(ord('a') + i)}.png" for i in range(count)]
    for i, path in enumerate(paths):
        Image.fromarray(np.roll(pixels, 7 * i, axis=1)).save(path)
    return paths


def _names(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*.png") if p.is_file())


def test_row2_corrupt_onnx_huge_image_and_negative_threads_are_named(micro_layout, tmp_path):
    """Named before the model loads (the checkpoint does not exist), nothing written."""
    out = tmp_path / "out"
    check_named_before_loading(
        predict.main, lambda image, flags: [str(image), *micro_args(micro_layout),
                                            "--checkpoint", "missing.pth", "--out", str(out),
                                            *flags],
        tmp_path, _photos(tmp_path / "photos", 1)[0])
    assert not out.exists()


def test_row3_a_folder_run_skips_unreadable_files_lists_them_and_exits_1(micro_layout,
                                                                         checkpoint, run,
                                                                         tmp_path):
    """Unreadable files are named and skipped, the others segmented, the skipped listed at
    the end, exit 1; a rerun with --skip-existing runs only the images without both results
    (here: the repaired file and an image whose overlay was deleted)."""
    folder = tmp_path / "photos"
    _photos(folder)
    _photos(folder / "album.png", 1)   # a folder named like an image: searched, not read
    bad = write_unreadable_images(folder, sample_photos()[0])
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "tools/predict.py", str(folder), *micro_args(micro_layout),
         "--checkpoint", str(checkpoint), "--out", str(out), "--threads", "1"],
        cwd=SEG, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    listing = done.stderr.split("4 file(s) could not be read and were skipped:\n")[1]
    assert listing.splitlines() == [f"  {path}" for path in bad]
    assert _names(out) == ["label/a.png", "label/album.png/a.png", "label/b.png",
                           "overlay/a.png", "overlay/album.png/a.png", "overlay/b.png"]
    kept = (out / "label" / "a.png").stat().st_mtime_ns
    shutil.copy(sample_photos()[0], folder / "cut.jpg")   # repaired
    (out / "overlay" / "b.png").unlink()                   # an interrupted image
    written, status = run(folder, out, "--skip-existing")
    assert status == 1   # the other three are still unreadable
    assert written == [out / "label" / "b.png", out / "label" / "cut.png"]
    assert (out / "label" / "a.png").stat().st_mtime_ns == kept
    assert (out / "overlay" / "b.png").is_file() and (out / "overlay" / "cut.png").is_file()


def test_row4_the_output_folder_is_never_read_back_as_input(run, tmp_path):
    folder = tmp_path / "photos"
    _photos(folder)
    with pytest.raises(OutputPathError, match=rf"--out {folder}/sub/\.\. is the input folder"):
        run(folder, folder / "sub" / "..")
    first, _ = run(folder, folder / "pred")
    again, status = run(folder, folder / "pred", "--overwrite")
    assert status == 0 and again == first == [folder / "pred" / "label" / "a.png",
                                              folder / "pred" / "label" / "b.png"]
    assert _names(folder) == ["a.png", "b.png", "pred/label/a.png", "pred/label/b.png",
                              "pred/overlay/a.png", "pred/overlay/b.png"]


def test_row5_a_result_another_run_wrote_meanwhile_is_never_replaced(run, tmp_path,
                                                                     monkeypatch):
    photo = _photos(tmp_path / "photos", 1)[0]
    out = tmp_path / "out"
    segment = SegInferencer.__call__

    def another_run_finishes_first(self, *args, **kwargs):
        result = segment(self, *args, **kwargs)
        (out / "label").mkdir(parents=True)
        (out / "label" / "a.png").write_bytes(b"the other run's label")
        return result
    monkeypatch.setattr(SegInferencer, "__call__", another_run_finishes_first)
    with pytest.raises(FileAppearedError, match=f"{out}/label/a.png appeared while this run"):
        run(photo, out)
    assert (out / "label" / "a.png").read_bytes() == b"the other run's label"


def test_row6_existing_results_are_refused_or_replaced_with_overwrite(micro_layout, run,
                                                                      tmp_path):
    photo = _photos(tmp_path / "photos", 1)[0]
    out = tmp_path / "out"
    (out / "label").mkdir(parents=True)
    (out / "label" / "a.png").write_bytes(b"kept")
    with pytest.raises(OutputPathError, match=rf"output {out}/label/a.png exists; results "
                                              r"never replace a file: --skip-existing"):
        predict.main([str(photo), *micro_args(micro_layout), "--checkpoint", "missing.pth",
                      "--out", str(out)])   # before the model loads
    assert _names(out) == ["label/a.png"]
    written, status = run(photo, out, "--overwrite")
    assert status == 0 and written == [out / "label" / "a.png"]
    assert np.asarray(Image.open(out / "label" / "a.png")).shape == (32, 40)


def test_row12_onnx_with_backend_torch_is_refused_before_any_work(micro_layout, tmp_path):
    photo = _photos(tmp_path / "photos", 1)[0]
    with pytest.raises(ValueError, match=r"--onnx missing.onnx: an exported file runs under "
                                         r"--backend onnxruntime or openvino"):
        predict.main([str(photo), *micro_args(micro_layout), "--checkpoint", "missing.pth",
                      "--out", str(tmp_path / "out"), "--onnx", "missing.onnx"])
    with pytest.raises(ValueError, match="--onnx m.onnx: an exported file runs under"):
        SegInferencer(CITYSCAPES, "missing.pth", onnx="m.onnx")


def test_row13_alpha_outside_0_1_is_refused(micro_layout, segment, tmp_path):
    photo = _photos(tmp_path / "photos", 1)[0]
    base = [str(photo), *micro_args(micro_layout), "--checkpoint", "missing.pth",
            "--out", str(tmp_path / "out")]
    assert argparse_error(predict.main, [*base, "--alpha", "5"]) == (
        "argument --alpha: '5': expected a number from 0 to 1")
    assert argparse_error(predict.main, [*base, "--scales", "1", "2"]) == (
        "--scales applies with --ms (multi-scale) only")
    for alpha in (5, -0.1, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match=rf"^alpha={alpha!r}: expected a number from 0"):
            segment(photo, return_overlay=True, alpha=alpha)
    result = segment(photo, return_overlay=True, alpha=1)
    assert (result["overlay"] == segment.visualize(photo, result, np.float32(1.0))).all()
    with pytest.raises(ValueError, match=r"^alpha=1.5: expected"):
        segment.visualize(photo, result, 1.5)


def test_row16_progress_bars_over_the_windows_and_the_images(micro_layout, checkpoint, run,
                                                             tmp_path, capsys):
    """Slide mode, a 32x40 image in 16x16 windows every 8x16 (rows, columns): a bar over its
    3 x 3 windows, advanced once per window, per image; and one over the images."""
    photos = _photos(tmp_path / "photos")
    written, status = run(photos[0].parent, tmp_path / "out", "--mode", "slide",
                          "--crop-size", "16", "16", "--stride", "8", "16")
    err = capsys.readouterr().err
    assert status == 0 and len(written) == 2
    assert err.count("windows:   0%|          | 0/9 ") == 2
    assert "segmenting: 100%|██████████| 2/2 " in err
    segment = SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                            backbone=str(micro_layout), threads=1, mode="slide",
                            crop_size=(16, 16), stride=(8, 16))
    _, x = segment.preprocess(photos[0])
    calls = []
    segment.forward(x, on_window=lambda: calls.append(1))
    assert len(calls) == segment.window_count((32, 40)) == 9
    multi = SegInferencer(CITYSCAPES, str(checkpoint), model_name="hrt_small_ocr_v2",
                          backbone=str(micro_layout), threads=1, mode="slide",
                          crop_size=(16, 16), stride=(8, 16), multi_scale=True,
                          scales=[0.5, 1.0])
    calls.clear()
    multi.forward(x, on_window=lambda: calls.append(1))
    assert len(calls) == multi.window_count((32, 40)) == 2 * (1 * 2 + 9)  # flips, 16x20: 1x2


def test_export_names_bad_output_and_sizes_before_loading(micro_layout, tmp_path):
    base = [*micro_args(micro_layout), "--checkpoint", str(tmp_path / "missing.pth")]
    with pytest.raises(OutputPathError, match=r"--out seg.png: expected a file name ending "
                                              r"in \.onnx"):
        export.main([*base, "--out", "seg.png"])
    assert argparse_error(export.main, [*base, "--out", str(tmp_path / "m.onnx"),
                                        "--input-size", "0", "64"]) == (
        "argument --input-size: '0': expected an integer >= 1")
