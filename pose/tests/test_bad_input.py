"""Bad and unusual input on the pose surfaces (issue 24, one test per row of its table): the
demos end bad input as `<tool>: error: ...` with exit status 2 before the model loads, folder
runs skip unreadable files and finish with --skip-existing, results never replace each other
or an input, videos keep what was done, box files are taken as given."""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from urllib.error import URLError

import cv2
import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG
from demo import image_demo, inferencer_demo
from demo.stick_video import make_video
from hrformer_common.atomic import FileAppearedError
from hrformer_pose.apis import DetectorError, PoseTracker, VideoSink, build_detector
from hrformer_pose.apis.tracking import boxes_inside
from PIL import Image

MISSING_CHECKPOINT = "never_read.pth"  # a check that fails first never opens it
CLS_YAML = Path(__file__).resolve().parents[2] / "cls" / "configs" / "hrt" / "hrt_small.yaml"


def run(command, argv: list, capsys) -> tuple[int, str]:
    """A demo's command line in this process: (exit status, stderr)."""
    try:
        command.cli([str(a) for a in argv])
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def pose_cli(input_path, out, checkpoint=MISSING_CHECKPOINT, *extra) -> list:
    return [input_path, "--model", DEMO_CONFIG, "--checkpoint", checkpoint, "--out", out,
            "--threads", "1", *extra]


def image_cli(image, out, checkpoint=MISSING_CHECKPOINT, *extra) -> list:
    return [image, DEMO_CONFIG, checkpoint, "--out", out, "--threads", "1", *extra]


def picture(path: Path, height: int = 40, width: int = 30, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), np.uint8)).save(path)
    return path


def assert_bad_input(code: int, err: str, prog: str, *named: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"{prog}: error: "), last
    for text in named:
        assert text in last, (text, last)


@pytest.mark.parametrize("case", ["missing input", "unreadable image", "bad box file",
                                  "bad yolox file", "bad torchvision name", "output exists",
                                  "--det-every on an image"])
def test_row1_pose_demo_bad_input_is_one_line_before_the_model(tmp_path, capsys, case):
    image = picture(tmp_path / "in" / "a.png")
    out, extra = tmp_path / "out", []
    named = {"missing input": "nothere.jpg: no such image, video or folder",
             "unreadable image": "bad.jpg", "bad box file": "boxes.json: not a JSON file",
             "bad yolox file": "model.onnx: onnxruntime cannot open it",
             "bad torchvision name": "torchvision:resnet50: unknown detector",
             "output exists": "a.json exists", "--det-every on an image": "--det-every is for"}
    if case == "missing input":
        image = tmp_path / "nothere.jpg"
    elif case == "unreadable image":
        image = tmp_path / "bad.jpg"
        image.write_bytes(b"\xff\xd8 not a jpeg")
    elif case == "bad box file":
        (tmp_path / "boxes.json").write_text("{")
        extra = ["--det", f"boxes:{tmp_path / 'boxes.json'}"]
    elif case == "bad yolox file":
        (tmp_path / "model.onnx").write_bytes(b"not onnx")
        extra = ["--det", f"yolox:{tmp_path / 'model.onnx'}"]
    elif case == "bad torchvision name":
        extra = ["--det", "torchvision:resnet50"]
    elif case == "output exists":
        out.mkdir()
        (out / "a.json").write_text("[]")
    else:
        extra = ["--det-every", "2"]
    code, err = run(inferencer_demo, pose_cli(image, out, MISSING_CHECKPOINT, *extra), capsys)
    assert_bad_input(code, err, "inferencer_demo.py", named[case])


def test_row1_image_demo_bad_input_is_one_line_before_the_model(tmp_path, capsys):
    image = picture(tmp_path / "a.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    for argv, named in ((image_cli(tmp_path / "nothere.png", tmp_path / "o.png"), "nothere.png"),
                        (image_cli(tmp_path / "bad.png", tmp_path / "o.png"), "bad.png"),
                        (image_cli(image, tmp_path / "o.png", MISSING_CHECKPOINT, "--bbox",
                                   "100,100,5,5"), "lies outside the 30x40 image")):
        assert_bad_input(*run(image_demo, argv, capsys), "image_demo.py", named)
    (tmp_path / "junk.pth").write_bytes(b"junk")  # read once the config's model is built
    assert_bad_input(*run(image_demo, image_cli(image, tmp_path / "o.png", tmp_path / "junk.pth"),
                          capsys), "image_demo.py", "cannot read checkpoint", "junk.pth")


@pytest.mark.parametrize("extra, named", [
    (["--device", "banana"], "device 'banana'; expected cpu, cuda or cuda:N"),
    (["--device", "cuda"], "device 'cuda': this machine has no CUDA device")])
def test_row2_devices_are_refused_by_name(tmp_path, capsys, extra, named):
    if "cuda" in extra and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    image = picture(tmp_path / "a.png")
    assert_bad_input(*run(inferencer_demo, pose_cli(image, tmp_path / "o", MISSING_CHECKPOINT,
                                                    *extra), capsys),
                     "inferencer_demo.py", named)
    assert_bad_input(*run(image_demo, image_cli(image, tmp_path / "o.png", MISSING_CHECKPOINT,
                                                *extra), capsys), "image_demo.py", named)


def test_row2_a_classification_yaml_as_pose_config_is_named(tmp_path, capsys):
    image = picture(tmp_path / "a.png")
    argv = [image, "--pose-config", CLS_YAML, "--checkpoint", MISSING_CHECKPOINT,
            "--out", tmp_path / "o"]
    assert_bad_input(*run(inferencer_demo, argv, capsys), "inferencer_demo.py",
                     f"{CLS_YAML}: no model.backbone; expected an mmengine top-down pose config")


def test_row3_folder_run_skips_unreadable_files_and_skip_existing_finishes(
        tmp_path, capsys, demo_checkpoint):
    photos = tmp_path / "photos"
    picture(photos / "a.png")
    picture(photos / "sub" / "b.jpg", seed=1)
    (photos / "album.png").mkdir()  # a folder, whatever its name
    picture(photos / "album.png" / "c.png", seed=2)
    (photos / "notes.jpg").write_text("not an image")
    (photos / "._a.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    truncated = picture(photos / "d.png", 200, 200, seed=3)
    truncated.write_bytes(truncated.read_bytes()[:300])
    out = tmp_path / "out"
    code, err = run(inferencer_demo, pose_cli(photos, out, demo_checkpoint), capsys)
    assert code == 1
    report = err[err.index("3 file(s) could not be read and were skipped:"):].splitlines()
    assert [line.strip() for line in report[1:]] == [
        str(photos / name) for name in ("._a.jpg", "d.png", "notes.jpg")]
    results = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert results == ["a.jpg", "a.json", "album.png/c.jpg", "album.png/c.json", "sub/b.jpg",
                       "sub/b.json"]
    kept = (out / "a.json").stat().st_mtime_ns
    picture(photos / "e.png", seed=4)  # a rerun finishes the rest
    code, err = run(inferencer_demo, pose_cli(photos, out, demo_checkpoint, "--skip-existing"),
                    capsys)
    assert code == 1 and "3 file(s) could not be read" in err
    assert (out / "e.json").is_file() and (out / "a.json").stat().st_mtime_ns == kept


def test_row4_results_are_never_read_back_as_inputs(tmp_path, capsys, demo_checkpoint):
    photos = tmp_path / "photos"
    picture(photos / "a.png")
    picture(photos / "b.png", seed=1)
    for policy in ("--skip-existing", "--overwrite"):  # the second run sees a.jpg etc.
        code, _ = run(inferencer_demo, pose_cli(photos, photos / "out", demo_checkpoint,
                                                policy), capsys)
        assert code == 0
        assert sorted(p.name for p in (photos / "out").iterdir()) == [
            "a.jpg", "a.json", "b.jpg", "b.json"]
    assert_bad_input(*run(inferencer_demo, pose_cli(photos, photos), capsys),
                     "inferencer_demo.py", f"--out {photos} is the input folder")
    picture(tmp_path / "x.jpg")
    assert_bad_input(*run(inferencer_demo, pose_cli(tmp_path / "x.jpg", tmp_path,
                                                    MISSING_CHECKPOINT, "--overwrite"), capsys),
                     "inferencer_demo.py", f"the result {tmp_path / 'x.jpg'} would replace")
    assert_bad_input(*run(image_demo, image_cli(tmp_path / "x.jpg", tmp_path / "x.jpg",
                                                MISSING_CHECKPOINT, "--overwrite"), capsys),
                     "image_demo.py", "is the input image")


def test_row5_a_result_that_appears_meanwhile_is_never_replaced(tmp_path):
    target = tmp_path / "clip.mp4"
    live = tmp_path / f".clip.mp4.tmp-{os.getppid()}.mp4"  # another run's video, being written
    dead = tmp_path / ".clip.mp4.tmp-999999999.mp4"  # a killed run's
    live.write_bytes(b"frames")
    dead.write_bytes(b"frames")
    with pytest.raises(FileAppearedError, match="clip.mp4 appeared while this run"):
        with VideoSink(target, 10, (32, 24), replace=False) as sink:
            assert live.exists() and not dead.exists()
            sink.write(np.zeros((24, 32, 3), np.uint8))
            target.write_bytes(b"the other run's video")
    assert target.read_bytes() == b"the other run's video" and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "clip.mp4"]


def test_row6_image_demo_refuses_an_existing_output_unless_overwrite(tmp_path, capsys,
                                                                     demo_checkpoint):
    image = picture(tmp_path / "a.png", 60, 50)
    (tmp_path / "o.png").write_bytes(b"earlier")
    assert_bad_input(*run(image_demo, image_cli(image, tmp_path / "o.png"), capsys),
                     "image_demo.py", f"output {tmp_path / 'o.png'} exists", "--overwrite")
    assert (tmp_path / "o.png").read_bytes() == b"earlier"
    code, _ = run(image_demo, image_cli(image, tmp_path / "o.png", demo_checkpoint,
                                        "--overwrite"), capsys)
    assert code == 0 and cv2.imread(str(tmp_path / "o.png")).shape == (60, 50, 3)


def odd_video(path: Path, frames: int = 3) -> Path:
    """A 161x121 MJPEG AVI (OpenCV's own writer keeps odd sizes): black, its last column and
    last row white."""
    writer = cv2.VideoWriter(str(path), cv2.CAP_OPENCV_MJPEG, cv2.VideoWriter_fourcc(*"MJPG"),
                             10, (161, 121))
    frame = np.zeros((121, 161, 3), np.uint8)
    frame[:, 160] = frame[120, :] = 255
    for _ in range(frames):
        writer.write(frame)
    writer.release()
    return path


def test_row7_an_odd_sized_video_is_padded_not_cut(tmp_path, capsys, demo_checkpoint):
    video = odd_video(tmp_path / "odd.avi")
    boxes = tmp_path / "boxes.json"  # a person away from the edges
    boxes.write_text(json.dumps({f"odd.avi:{i}": [[40, 30, 40, 40, 0.9]] for i in range(3)}))
    code, _ = run(inferencer_demo, pose_cli(video, tmp_path / "out", demo_checkpoint, "--det",
                                            f"boxes:{boxes}", "--kpt-thr", "2"), capsys)
    assert code == 0
    written = cv2.VideoCapture(str(tmp_path / "out" / "odd.mp4"))
    ok, frame = written.read()
    written.release()
    assert ok and frame.shape == (122, 162, 3)
    # the last column and row are there; one black column and row follow them
    assert frame[10:110, 160].min() > 150 and frame[120, 10:150].min() > 150
    assert frame[10:110, 161].max() < 100 and frame[121, 10:150].max() < 100
    result = json.loads((tmp_path / "out" / "odd.json").read_text())
    assert (result["width"], result["height"], result["frames_done"]) == (161, 121, 3)


def test_row8_a_video_stopped_partway_keeps_what_was_done(tmp_path, capsys, demo_checkpoint,
                                                          monkeypatch):
    video, boxes = make_video(tmp_path / "in", frames=14, fps=8.0, seed=3)
    truth = json.loads(boxes.read_text())
    short = tmp_path / "short.json"  # lacks the frames from 10 on
    short.write_text(json.dumps({k: v for k, v in truth.items() if int(k.split(":")[1]) < 10}))
    out = tmp_path / "out"
    code, err = run(inferencer_demo, pose_cli(video, out, demo_checkpoint, "--det",
                                              f"boxes:{short}"), capsys)
    assert_bad_input(code, err, "inferencer_demo.py", "has no boxes for image 'walk.mp4:10'")
    assert f"partial results: {out / 'walk.mp4'} and {out / 'walk.json'} hold the first 10 " \
           "frames" in err
    result = json.loads((out / "walk.json").read_text())
    assert (result["complete"], result["frames_done"], result["frame_count"]) == (False, 10, 14)
    assert [f["frame"] for f in result["frames"]] == list(range(10))
    assert cv2.VideoCapture(str(out / "walk.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 10
    # Ctrl-C at frame 4 of a rerun that redoes the partial result (--skip-existing)
    calls = {"count": 0}
    tracked = PoseTracker.__call__

    def interrupted(self, frame, key=None):
        calls["count"] += 1
        if calls["count"] == 5:
            raise KeyboardInterrupt
        return tracked(self, frame, key)
    monkeypatch.setattr(PoseTracker, "__call__", interrupted)
    code, err = run(inferencer_demo, pose_cli(video, out, demo_checkpoint, "--det",
                                              f"boxes:{boxes}", "--skip-existing"), capsys)
    assert code == 130 and "hold the first 4 frames" in err and "Ctrl-C" in err
    result = json.loads((out / "walk.json").read_text())
    assert (result["complete"], result["frames_done"], result["stopped"]) == (False, 4, "Ctrl-C")
    monkeypatch.setattr(PoseTracker, "__call__", tracked)
    code, _ = run(inferencer_demo, pose_cli(video, out, demo_checkpoint, "--det",
                                            f"boxes:{boxes}", "--skip-existing"), capsys)
    result = json.loads((out / "walk.json").read_text())
    assert code == 0 and (result["complete"], result["frames_done"]) == (True, 14)


def test_row9_tiny_images_are_one_person_and_carried_boxes_fit_smaller_frames(
        tmp_path, capsys, demo_pose, demo_checkpoint):
    for height, width in ((1, 1), (1, 50), (50, 1)):
        (person,) = demo_pose(np.full((height, width, 3), 200, np.uint8))
        assert person["bbox"] == [0.0, 0.0, max(width - 1, 1.0), max(height - 1, 1.0)]
    image = picture(tmp_path / "one.png", 1, 1)
    code, err = run(image_demo, image_cli(image, tmp_path / "o.png", demo_checkpoint), capsys)
    assert code == 0 and "--bbox" not in err
    np.testing.assert_allclose(boxes_inside(np.array([[50, 10, 100, 40, 0.9],
                                                      [150, 0, 20, 20, 0.8]]), (60, 80)),
                               [[50, 10, 29, 40, 0.9]])  # clipped; the second lies outside
    tracker = PoseTracker(demo_pose, det_every=2)
    tracker(np.zeros((200, 300, 3), np.uint8))
    # the boxes for the next frame, one partly and one wholly outside the smaller frame
    tracker.carried = np.array([[50, 10, 200, 150, 0.9], [150, 0, 20, 20, 0.8]], np.float32)
    (person,) = tracker(np.zeros((60, 80, 3), np.uint8))
    assert person["bbox"] == [50.0, 10.0, 29.0, 49.0]


def retimed(path: Path, factor: int) -> Path:
    """The mp4 at `factor` times its frame rate (its track's time scale multiplied)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"mdhd") + 16  # version 0: size, type, version/flags, 2 dates, time scale
    data[at:at + 4] = struct.pack(">I", struct.unpack(">I", data[at:at + 4])[0] * factor)
    path.write_bytes(bytes(data))
    return path


def test_row10_webcam_indexes_paths_and_frame_rates(tmp_path, capsys, monkeypatch,
                                                    demo_checkpoint):
    monkeypatch.chdir(tmp_path)
    picture(tmp_path / "2024" / "a.png")  # a folder named like a webcam
    code, _ = run(inferencer_demo, pose_cli("2024", "out", demo_checkpoint), capsys)
    assert code == 0 and (tmp_path / "out" / "a.json").is_file()
    for name in ("99999999999999999999", "²", "100"):
        assert_bad_input(*run(inferencer_demo, pose_cli(name, "o"), capsys),
                         "inferencer_demo.py",
                         f"{name}: no such image, video or folder, and not a webcam index")
    video, _ = make_video(tmp_path / "in", frames=2, fps=10.0, seed=0)
    assert_bad_input(*run(inferencer_demo, pose_cli(retimed(video, 10000), "o"), capsys),
                     "inferencer_demo.py", "at 100000 frames/s", "at most 65535 frames/s")


@pytest.mark.parametrize("row, message", [
    ([1e39, 2, 3, 4, 0.5], r"1e\+39"), ([1, 2, 3, 4, 5.0], "5.0"), ([1, 2, 3, 4, -0.1], "-0.1")])
def test_row11_box_values_float32_cannot_hold_and_scores_outside_0_1_are_refused(
        tmp_path, row, message):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"a.jpg": [[1, 2, 3, 4, 0.5], row]}))
    with pytest.raises(DetectorError, match=rf"{path}: 'a.jpg'\[1\]: expected .*score in "
                                            rf"\[0, 1\]\), got .*{message}"):
        build_detector(f"boxes:{path}")


def test_row12_onnx_with_backend_torch_is_refused(tmp_path, capsys):
    image = picture(tmp_path / "a.png")
    named = "--onnx model.onnx: an exported file runs under --backend onnxruntime or openvino"
    assert_bad_input(*run(inferencer_demo, pose_cli(image, tmp_path / "o", MISSING_CHECKPOINT,
                                                    "--onnx", "model.onnx"), capsys),
                     "inferencer_demo.py", named)
    assert_bad_input(*run(image_demo, image_cli(image, tmp_path / "o.png", MISSING_CHECKPOINT,
                                                "--onnx", "model.onnx"), capsys),
                     "image_demo.py", named)


def test_row14_box_files_are_taken_as_given_unless_limits_are_asked(tmp_path):
    boxes = [[10, 10, 40, 80, 0.9], [12, 10, 40, 80, 0.8], [100, 10, 40, 80, 0.1],
             [150, 10, 40, 80, 0.7], [200, 10, 40, 80, 0.6], [250, 10, 40, 80, 0.5]]
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps({"a.jpg": boxes}))
    image = np.zeros((100, 300, 3), np.uint8)
    as_given = build_detector(f"boxes:{path}")(image, "a.jpg")
    np.testing.assert_allclose(as_given, sorted(boxes, key=lambda b: -b[4]), rtol=1e-6)
    asked = build_detector(f"boxes:{path}", nms_iou=0.45, score_thr=0.3, max_people=3)
    np.testing.assert_allclose(asked(image, "a.jpg")[:, 4], [0.9, 0.7, 0.6], rtol=1e-6)
    detector_default = build_detector("none").limits
    assert (detector_default.score_thr, detector_default.nms_iou) == (0.3, 0.45)


def test_row15_unreachable_torchvision_weights_name_file_cache_and_flag(tmp_path, monkeypatch):
    def refused(url, *args, **kwargs):
        raise URLError(ConnectionRefusedError(111, "Connection refused"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refused)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cache = tmp_path / "hub" / "checkpoints"
    with pytest.raises(DetectorError) as err:
        build_detector("torchvision:ssdlite320_mobilenet_v3_large")
    message = str(err.value)
    for named in ("ssdlite320_mobilenet_v3_large_coco-a79551df.pth could not be downloaded",
                  "Connection refused", f"cache folder {cache}", "--det-checkpoint"):
        assert named in message, named


def test_row16_many_people_go_through_the_network_in_bounded_batches(demo_pose):
    calls = []
    runner, batch_size = demo_pose.runner, demo_pose.batch_size

    def recording(x):
        calls.append(len(x))
        return runner(x)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (160, 160, 3), np.uint8)
    boxes = np.concatenate([rng.uniform(0, 100, (70, 2)), rng.uniform(10, 60, (70, 2))], axis=1)
    try:
        demo_pose.runner = recording
        assert len(demo_pose(image, boxes=boxes)) == 70
        assert calls == [64, 64, 12]  # 32 crops and their mirror images per call (flip test)
        crops = demo_pose.preprocess(image, boxes=boxes)
        batched = demo_pose.forward(crops)
        demo_pose.batch_size = 70
        whole = demo_pose.forward(crops)
        assert calls[3:] == [64, 64, 12, 140]
    finally:
        demo_pose.runner, demo_pose.batch_size = runner, batch_size
    torch.testing.assert_close(batched, whole, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="batch_size = 0; expected an integer >= 1"):
        type(demo_pose)(DEMO_CONFIG, None, batch_size=0)
