"""The command lines over `PoseInferencer`: demo/inferencer_demo.py on images and folders
(the same result as the API, flip test on and off, names that never collide, nothing
overwritten, outputs and flags checked before any work) and demo/image_demo.py's boxes and output path (issue 16, rows 7-9)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import DEMO_CONFIG
from demo import image_demo, inferencer_demo
from hrformer_common.outputs import OutputPathError
from hrformer_pose.apis import BoxError, PoseInferencer
from PIL import Image

MISSING_CHECKPOINT = "never_read.pth"  # a check that fails first never opens it
UNWRITABLE = Path("/proc/1")  # no process, root included, can create a file there


def _cli(input_path, out, checkpoint, *extra) -> int:
    return inferencer_demo.main([str(input_path), "--model", str(DEMO_CONFIG),
                                 "--checkpoint", str(checkpoint), "--out", str(out),
                                 "--threads", "1", *extra])


def test_image_cli_writes_what_the_api_returns(stick_data, demo_checkpoint, demo_pose,
                                               tmp_path):
    image = stick_data / "val" / "00002.png"
    _cli(image, tmp_path / "out", demo_checkpoint)
    written = json.loads((tmp_path / "out" / "00002.json").read_text())
    assert written == demo_pose(image)
    drawn = cv2.imread(str(tmp_path / "out" / "00002.jpg"))
    assert drawn.shape == (160, 160, 3)
    original = cv2.imread(str(image))
    assert np.abs(drawn.astype(int) - original).max() > 100  # something was drawn
    _cli(image, tmp_path / "no_flip", demo_checkpoint, "--no-flip-test")
    no_flip = json.loads((tmp_path / "no_flip" / "00002.json").read_text())
    assert no_flip == PoseInferencer(DEMO_CONFIG, demo_checkpoint, flip_test=False)(image)
    assert no_flip != written


def test_folder_keeps_subfolders_skips_other_files_and_takes_odd_images(demo_checkpoint,
                                                                        tmp_path):
    rng = np.random.default_rng(0)
    photos = tmp_path / "photos"
    for sub in ("a", "b"):
        (photos / sub).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (50, 40, 3), np.uint8)).save(photos / sub / "x.jpg")
    Image.fromarray(rng.integers(0, 256, (30, 20), np.uint8)).save(photos / "gray.png")
    Image.fromarray(rng.integers(0, 256, (24, 36, 4), np.uint8)).save(photos / "rgba.png")
    Image.fromarray(rng.integers(0, 256, (6, 6, 3), np.uint8)).save(photos / "tiny.bmp")
    (photos / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    _cli(photos, out, demo_checkpoint)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == ["a/x.jpg", "a/x.json", "b/x.jpg", "b/x.json", "gray.jpg", "gray.json",
                       "rgba.jpg", "rgba.json", "tiny.jpg", "tiny.json"]
    for name, (height, width) in (("gray", (30, 20)), ("rgba", (24, 36)), ("tiny", (6, 6))):
        (person,) = json.loads((out / f"{name}.json").read_text())
        assert person["bbox"] == [0, 0, width - 1, height - 1]
        assert cv2.imread(str(out / f"{name}.jpg")).shape[:2] == (height, width)


def test_nothing_is_overwritten_and_checks_come_first(stick_data, tmp_path):
    image = stick_data / "val" / "00001.png"
    out = tmp_path / "out"
    out.mkdir()
    (out / "00001.json").write_text("[]")
    with pytest.raises(OutputPathError, match=r"00001.json exists; results never replace"):
        _cli(image, out, MISSING_CHECKPOINT)
    assert (out / "00001.json").read_text() == "[]"
    with pytest.raises(ValueError, match="--det-every is for videos and webcams"):
        _cli(image, tmp_path / "other", MISSING_CHECKPOINT, "--det-every", "2")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OutputPathError, match="a_file: is a file, not a folder"):
        _cli(image, tmp_path / "a_file", MISSING_CHECKPOINT)
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match="notes.txt: expected an image"):
        _cli(tmp_path / "notes.txt", tmp_path / "o", MISSING_CHECKPOINT)
    with pytest.raises(SystemExit):
        _cli(image, tmp_path / "o", MISSING_CHECKPOINT, "--det-every", "0")


def _image_demo(image, checkpoint, out, *boxes) -> list[dict]:
    argv = [str(image), str(DEMO_CONFIG), str(checkpoint), "--out", str(out), "--threads", "1"]
    for box in boxes:
        argv += ["--bbox", box]
    return image_demo.main(argv)


@pytest.mark.parametrize("box, problem", [
    ("100,100,0,200", "box x,y,w,h = 100, 100, 0, 200 has no width or height"),
    ("300,300,50,50", "box x,y,w,h = 300, 300, 50, 50 lies outside the 160x160 image"),
    ("10,10,-40,50", "box x,y,w,h = 10, 10, -40, 50 has no width or height")])
def test_image_demo_names_a_bad_box_before_any_work(stick_data, tmp_path, box, problem):
    with pytest.raises(BoxError, match=problem) as err:
        _image_demo(stick_data / "val" / "00001.png", MISSING_CHECKPOINT, tmp_path / "o.png",
                    "20,20,50,100", box)
    assert str(err.value).startswith("--bbox of ")
    assert not (tmp_path / "o.png").exists()


def test_image_demo_takes_negative_coordinates_and_clips(stick_data, demo_checkpoint,
                                                         tmp_path):
    (person,) = _image_demo(stick_data / "val" / "00001.png", demo_checkpoint,
                            tmp_path / "o.jpg", "-50,20,300,400")
    assert person["bbox"] == [0.0, 20.0, 159.0, 139.0]
    assert cv2.imread(str(tmp_path / "o.jpg")).shape == (160, 160, 3)


def test_image_demo_checks_the_output_path_first(stick_data, tmp_path):
    image = stick_data / "val" / "00001.png"
    (tmp_path / "a_file").write_text("")
    for out, message in ((tmp_path / "out", "expected a file name ending in .png or .jpg"),
                         (tmp_path / "a_file" / "o.png", "a_file is a file, not a folder"),
                         (UNWRITABLE / "o.png", "cannot write in")):
        with pytest.raises(OutputPathError, match=message) as err:
            _image_demo(image, MISSING_CHECKPOINT, out)
        assert str(err.value).startswith(f"--out {out.parent}")


def test_webcam_that_is_not_there_is_named_before_any_work(tmp_path):
    from hrformer_pose.apis import VideoError
    if Path("/dev/video9").exists():
        pytest.skip("this machine has a webcam 9")
    with pytest.raises(VideoError, match="cannot open webcam 9"):
        _cli("9", tmp_path / "cam", MISSING_CHECKPOINT, "--max-frames", "2")
