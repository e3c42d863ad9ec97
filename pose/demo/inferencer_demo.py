"""Pose of every person in photos, folders, videos or a webcam: skeletons drawn, and JSON.

    python demo/inferencer_demo.py INPUT --model CFG --checkpoint CKPT \
        [--det SPEC] [--det-every N] [--backend torch|onnxruntime|openvino] --out DIR
    python demo/inferencer_demo.py INPUT --model hrt_small_coco_256x192 --out DIR  # mmpose's

INPUT is an image, a folder (searched recursively for images; other files are skipped), a
video file or a webcam index (0, 1, ...). An image gives DIR/<name>.jpg (boxes and skeletons
drawn) and DIR/<name>.json (its people, as `PoseInferencer` returns them); <name> keeps the
image's sub-folders, so results never overwrite each other. A video gives DIR/<stem>.mp4
(same size, frame rate and frame count) and DIR/<stem>.json (`[{"frame": i, "people":
[...]}, ...]`, one entry per frame, people with a `track_id`); a webcam DIR/webcam<index>.mp4
and .json, until it stops, `--max-frames` or Ctrl-C. Output paths are checked before any work,
and an existing file is never overwritten.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import cv2  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose)
from hrformer_common.atomic import write_atomic, write_text_atomic  # noqa: E402
from hrformer_common.cli import add_runtime_args, positive_int  # noqa: E402
from hrformer_common.images import IMAGE_SUFFIXES, find_images, read_image  # noqa: E402
from hrformer_common.outputs import (OutputPathError, check_output_dir,  # noqa: E402
                                     result_names)
from hrformer_common.runners import check_choice  # noqa: E402
from hrformer_pose.apis import (PoseInferencer, PoseTracker, VideoSink,  # noqa: E402
                                VideoSource, add_detector_args, detector_keywords, frame_key,
                                is_video, is_webcam)
from hrformer_pose.model_zoo import MODEL_ZOO  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", metavar="INPUT", help="image, folder, video or webcam index")
    parser.add_argument("--model", "--pose-config", required=True, metavar="CFG",
                        help="the pose model's mmengine config, or a model-zoo name: "
                             f"{', '.join(MODEL_ZOO)}")
    parser.add_argument("--checkpoint", "--pose-checkpoint", metavar="CKPT",
                        help="pose weights, a file or an http(s) URL (default: those of a "
                             "model-zoo name, downloaded once)")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_detector_args(parser)
    parser.add_argument("--det-every", type=positive_int, default=None, metavar="N",
                        help="videos: run the detector every N frames; in between, boxes come "
                             "from the previous frame's keypoints (default: 1)")
    parser.add_argument("--max-frames", type=positive_int, default=None, metavar="N",
                        help="videos and webcams: stop after N frames")
    parser.add_argument("--flip-test", action=argparse.BooleanOptionalAction, default=None,
                        help="average with the mirrored crops (default: the config's test_cfg)")
    parser.add_argument("--kpt-thr", type=float, default=0.3, help="hide weaker keypoints")
    add_runtime_args(parser)
    args = parser.parse_args(argv)
    if args.checkpoint is None and args.model not in MODEL_ZOO:
        parser.error(f"--checkpoint is needed unless --model is a model-zoo name "
                     f"({', '.join(MODEL_ZOO)})")
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    return args


@dataclass
class Plan:
    """What the input is ("images" or "video"), the inputs, each one's name (a `boxes:`
    file's key: the path below the folder given, or the file name) and output stem."""
    kind: str
    inputs: list
    keys: dict
    stems: dict


def plan_outputs(args: argparse.Namespace) -> Plan:
    """The plan of a run, checked before any work: the input exists, the output folder can
    be written, no result file exists already."""
    out = check_output_dir(args.out)
    source = Path(args.input)
    if is_webcam(args.input) or (source.is_file() and is_video(source)):
        kind, inputs = "video", [args.input]
        keys = {args.input: source.name}
        stems = {args.input: out / (f"webcam{args.input}" if is_webcam(args.input)
                                    else source.stem)}
        suffixes = (".mp4", ".json")
    else:
        if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{source}: expected an image ({', '.join(IMAGE_SUFFIXES)}), a "
                             "video, a folder or a webcam index")
        kind, inputs = "images", find_images(source)
        root = source if source.is_dir() else source.parent
        keys = {path: path.relative_to(root).as_posix() for path in inputs}
        stems = {path: out / name for path, name in result_names(inputs, root).items()}
        suffixes = (".jpg", ".json")
        for flag in ("det_every", "max_frames"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} is for videos and webcams; "
                                 f"{source} is not one")
    for stem in stems.values():
        for suffix in suffixes:
            target = stem.with_name(stem.name + suffix)
            if target.exists():
                raise OutputPathError(f"output {target} exists; remove it or choose another "
                                      "--out (results never overwrite a file)")
    return Plan(kind, inputs, keys, stems)


def run_images(pose: PoseInferencer, plan: Plan, kpt_thr: float) -> int:
    """Each image's drawing and JSON; returns the number of people found."""
    found = 0
    for path in tqdm(plan.inputs, desc="images", unit="image", disable=len(plan.inputs) == 1):
        image = read_image(path)
        people = pose(image, key=plan.keys[path])
        found += len(people)
        drawn = pose.visualize(image, people, kpt_thr)
        ok, jpeg = cv2.imencode(".jpg", drawn[:, :, ::-1])
        if not ok:
            raise OSError(f"could not encode the drawing of {path}")
        stem = plan.stems[path]
        write_atomic(jpeg.tobytes(), stem.with_name(stem.name + ".jpg"))
        write_text_atomic(json.dumps(people), stem.with_name(stem.name + ".json"))
    return found


def run_video(tracker: PoseTracker, video: VideoSource, key: str, stem: Path,
              max_frames: int | None, kpt_thr: float) -> int:
    """The drawn video and its per-frame JSON; returns the number of frames."""
    frames = []
    total = video.frame_count
    if max_frames is not None:
        total = min(total or max_frames, max_frames)
    try:
        with VideoSink(stem.with_name(stem.name + ".mp4"), video.fps,
                       (video.width, video.height)) as sink, \
                tqdm(total=total, desc=key, unit="frame") as bar:
            try:
                for index, frame in enumerate(video):
                    if max_frames is not None and index >= max_frames:
                        break
                    people = tracker(frame, frame_key(key, index))
                    sink.write(tracker.inferencer.visualize(frame, people, kpt_thr))
                    frames.append({"frame": index, "people": people})
                    bar.update()
            except KeyboardInterrupt:  # a webcam runs until stopped: keep what was recorded
                print(f"stopped after {len(frames)} frames")
    finally:
        video.close()
    write_text_atomic(json.dumps(frames), stem.with_name(stem.name + ".json"))
    return len(frames)


def main(argv: list[str] | None = None) -> list[Path]:
    """Returns the written files' stems (no suffix)."""
    args = parse_args(argv)
    plan = plan_outputs(args)
    video = VideoSource(plan.inputs[0]) if plan.kind == "video" else None  # before any work
    pose = PoseInferencer(args.model, args.checkpoint, det=args.det,
                          backend=args.backend, precision=args.precision, onnx=args.onnx,
                          device=args.device, threads=args.threads, compile=args.compile,
                          flip_test=args.flip_test, det_options=detector_keywords(args))
    print(pose.describe())
    if video is None:
        found = run_images(pose, plan, args.kpt_thr)
        print(f"{found} people in {len(plan.inputs)} images; results in {args.out}")
    else:
        tracker = PoseTracker(pose, det_every=args.det_every or 1)
        source = plan.inputs[0]
        count = run_video(tracker, video, plan.keys[source], plan.stems[source],
                          args.max_frames, args.kpt_thr)
        print(f"{count} frames, {tracker.ids.next_id} people tracked; results in {args.out}")
    return list(plan.stems.values())


if __name__ == "__main__":
    main()
