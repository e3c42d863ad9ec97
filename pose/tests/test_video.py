"""Videos (hrformer_pose/apis): frames in and out, the IoU tracker, `PoseTracker`'s detection
cadence and boxes from keypoints, and demo/inferencer_demo.py on a video written here (frame
count, size, frame rate, one JSON entry per frame, track ids stable while the figures move)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import DEMO_CONFIG
from demo.stick_figures import _annotation
from demo.stick_video import SIZE, figure_frames, make_video
from hrformer_pose.apis import (IouTracker, PoseTracker, VideoError, VideoSink, VideoSource,
                                frame_key)
from hrformer_pose.apis.tracking import keypoint_box, xywh_iou


def test_xywh_iou_by_hand():
    got = xywh_iou([[0, 0, 10, 10]], [[5, 0, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10],
                                      [2, 3, 0, 0]])
    np.testing.assert_allclose(got, [[50 / 150, 0.0, 1.0, 0.0]])
    assert xywh_iou(np.zeros((0, 4)), [[0, 0, 1, 1]]).shape == (0, 1)
    np.testing.assert_array_equal(xywh_iou([[4, 4, 0, 0]], [[4, 4, 0, 0]]), [[0.0]])


def test_iou_tracker_keeps_ids_and_never_reuses_them():
    tracker = IouTracker(iou_thr=0.3)
    assert tracker.assign([[0, 0, 10, 20], [50, 0, 10, 20]]) == [0, 1]
    # listed the other way round and moved a little: same people
    assert tracker.assign([[52, 1, 10, 20], [1, 0, 10, 20]]) == [1, 0]
    # the first person is gone, a new one appears far away; then the first comes back
    assert tracker.assign([[100, 50, 10, 20], [53, 1, 10, 20]]) == [2, 1]
    assert tracker.assign([[1, 0, 10, 20]]) == [3]
    # one previous box, two overlapping candidates: the better overlap keeps the id
    assert tracker.assign([[0, 0, 10, 10]]) == [3]  # IoU 0.45 with the last box
    assert tracker.assign([[3, 0, 10, 10], [1, 0, 10, 10]]) == [4, 3]


def test_keypoint_box_widens_and_clips():
    person = {"keypoints": [[10, 20, 0.9], [30, 60, 0.8], [500, 500, 0.01]],
              "bbox": [0, 0, 5, 5]}
    np.testing.assert_allclose(keypoint_box(person, (100, 100), kpt_thr=0.3),
                               [7.5, 15.0, 25.0, 50.0])
    assert keypoint_box({"keypoints": [[150, 150, 0.9], [170, 190, 0.9]]}, (100, 100),
                        0.3) is None


class GroundTruthPose:
    """Stands in for `PoseInferencer` in the tracker tests: the video's true keypoints for
    each person box it is given (the person whose box centre is nearest), and the detector's
    calls recorded."""

    def __init__(self, figures):
        self.figures, self.detected, self.given = figures, [], []

    def __call__(self, frame, key, boxes=None):
        index = int(key.rsplit(":", 1)[1])
        truth = [(keypoints[index], height) for keypoints, height, _ in self.figures]
        if boxes is None:
            self.detected.append(index)
            boxes = [_annotation(k, h, SIZE, 0, 0)["bbox"] + [1.0] for k, h in truth]
        else:
            self.given.append(np.array(boxes))
        people = []
        for box in boxes:
            centre = np.array(box[:2]) + np.array(box[2:4]) / 2
            keypoints, _ = min(truth, key=lambda t: np.linalg.norm(t[0].mean(0) - centre))
            people.append({"bbox": [float(v) for v in box[:4]], "bbox_score": float(box[4]),
                           "keypoints": [[x, y, 0.9] for x, y in keypoints.tolist()],
                           "score": 0.9})
        return people


def test_pose_tracker_detects_every_n_frames_and_follows_keypoints_between():
    figures = figure_frames(np.random.default_rng(0), 12)
    pose = GroundTruthPose(figures)
    tracker = PoseTracker(pose, det_every=4)
    frame = np.zeros((SIZE, SIZE, 3), np.uint8)
    ids = [[p["track_id"] for p in tracker(frame, frame_key("walk.mp4", i))]
           for i in range(12)]
    assert pose.detected == [0, 4, 8]
    assert ids == [[0, 1]] * 12  # the figures move, the ids stay
    # between detections the boxes are the previous keypoints' boxes (x1.25)
    keypoints = figures[0][0][0]
    low, high = keypoints.min(0), keypoints.max(0)
    centre, half = (low + high) / 2, (high - low) / 2 * 1.25
    np.testing.assert_allclose(pose.given[0][0, :4], [*(centre - half), *(2 * half)],
                               rtol=1e-5)
    with pytest.raises(ValueError, match=r"det_every \(--det-every\) = 0"):
        PoseTracker(pose, det_every=0)


def test_video_sink_and_source_round_trip(tmp_path):
    frames = [np.full((48, 64, 3), (i * 20, 100, 200 - i * 20), np.uint8) for i in range(6)]
    with VideoSink(tmp_path / "clip.mp4", 12.5, (64, 48)) as sink:
        for frame in frames:
            sink.write(frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # no temporary left
    source = VideoSource(tmp_path / "clip.mp4")
    assert (source.width, source.height, source.fps, source.frame_count) == (64, 48, 12.5, 6)
    read = list(source)
    source.close()
    assert len(read) == 6
    for got, expected in zip(read, frames):  # lossy, but RGB stays RGB
        assert np.abs(got.astype(int) - expected).mean() < 8


def test_a_failed_video_leaves_no_file(tmp_path):
    with pytest.raises(ValueError, match="frame of 10x10; the video is 64x48"):
        with VideoSink(tmp_path / "clip.mp4", 10, (64, 48)) as sink:
            sink.write(np.zeros((48, 64, 3), np.uint8))
            sink.write(np.zeros((10, 10, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_bad_video_sources_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="video not found: .*missing.mp4"):
        VideoSource(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"not a video")
    with pytest.raises(VideoError, match=r"cannot open video .*junk.mp4"):
        VideoSource(tmp_path / "junk.mp4")


def test_video_demo_writes_the_drawn_video_and_a_json_entry_per_frame(tmp_path,
                                                                       demo_checkpoint):
    from demo import inferencer_demo
    video, boxes = make_video(tmp_path / "in", frames=10, fps=8.0, seed=3)
    out = tmp_path / "out"
    inferencer_demo.main([str(video), "--pose-config", str(DEMO_CONFIG), "--pose-checkpoint",
                          str(demo_checkpoint), "--det", f"boxes:{boxes}", "--out", str(out),
                          "--threads", "1"])
    written = cv2.VideoCapture(str(out / "walk.mp4"))
    assert (written.get(cv2.CAP_PROP_FRAME_COUNT), written.get(cv2.CAP_PROP_FPS),
            written.get(cv2.CAP_PROP_FRAME_WIDTH), written.get(cv2.CAP_PROP_FRAME_HEIGHT)) \
        == (10, 8.0, SIZE, SIZE)
    written.release()
    result = json.loads((out / "walk.json").read_text())
    assert {k: v for k, v in result.items() if k != "frames"} == {
        "source": "walk.mp4", "width": SIZE, "height": SIZE, "fps": 8.0, "frame_count": 10,
        "complete": True, "stopped": None, "frames_done": 10}
    frames = result["frames"]
    truth = json.loads(boxes.read_text())
    assert [f["frame"] for f in frames] == list(range(10))
    for entry in frames:
        people = entry["people"]
        assert [p["track_id"] for p in people] == [0, 1]  # the left figure stays 0
        expected = truth[f"walk.mp4:{entry['frame']}"]
        np.testing.assert_allclose([p["bbox"] for p in people],
                                   [row[:4] for row in expected], atol=1e-3)
        assert all(len(p["keypoints"]) == 17 for p in people)
    # the figures do move: the boxes of the first and last frames differ
    assert frames[0]["people"][0]["bbox"][0] < frames[-1]["people"][0]["bbox"][0] - 10
