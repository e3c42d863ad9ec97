"""Pose of every person in photos, folders, videos or a webcam: skeletons drawn, and JSON.

    python demo/inferencer_demo.py INPUT --model CFG --checkpoint CKPT \
        [--det SPEC] [--det-every N] [--backend torch|onnxruntime|openvino] --out DIR
    python demo/inferencer_demo.py INPUT --model hrt_small_coco_256x192 --out DIR  # mmpose's

INPUT is an image, a folder (searched recursively for images; other files are skipped, and so
is DIR when it lies inside), a video file or a webcam index (0 to 99, when no file or folder
has that name). An image gives DIR/<name>.jpg (boxes and skeletons drawn) and DIR/<name>.json
(its people, as `PoseInferencer` returns them); <name> keeps the image's sub-folders, so
results never overwrite each other. A video gives DIR/<stem>.mp4 (same frame rate and frame
count; an odd width or height padded by one black pixel) and DIR/<stem>.json (`{"complete":
true, "frames": [{"frame": i, "people": [...]}, ...], ...}`, people with a `track_id`); a
webcam DIR/webcam<index>.mp4 and .json, until it stops, `--max-frames` or Ctrl-C.

Inputs, outputs, flags and a box file's entries are checked before the model loads. Results
that exist are refused (`--skip-existing` finishes an interrupted run, `--overwrite` replaces
them). Unreadable images are named, skipped and listed at the end (exit status 1). A video
stopped by an error or Ctrl-C keeps the frames done, marked `"complete": false`. Bad input
ends with `inferencer_demo.py: error: ...` and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import shared_package  # noqa: E402,F401  (stops here if hrformer_common is missing)

import cv2  # noqa: E402
import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402

import hrformer_pose  # noqa: E402,F401  (compat fixes and registrations before mmpose)
from hrformer_common.atomic import write_atomic, write_text_atomic  # noqa: E402
from hrformer_common.cli import add_runtime_args, exit_on_bad_input, positive_int  # noqa: E402
from hrformer_common.images import (IMAGE_SUFFIXES, SkippedImages, find_images,  # noqa: E402
                                    read_image)
from hrformer_common.outputs import (ResultPlan, add_result_args, check_apart,  # noqa: E402
                                     check_output_dir, plan_results, result_names,
                                     result_policy)
from hrformer_common.runners import check_choice  # noqa: E402
from hrformer_pose.apis import (BoxFileDetector, DetectorError, PersonDetector,  # noqa: E402
                                PoseInferencer, PoseTracker, VideoSink, VideoSource,
                                add_detector_args, build_detector, detector_keywords,
                                frame_key, is_video, is_webcam)
from hrformer_pose.apis.inferencer import detector_options  # noqa: E402
from hrformer_pose.apis.video import MAX_WEBCAM_INDEX  # noqa: E402
from hrformer_pose.model_zoo import MODEL_ZOO, missing_checkpoint  # noqa: E402

PROG = "inferencer_demo.py"
INTERRUPTED = 130  # the shell's exit status of a command stopped by Ctrl-C
_SHOWN = 3


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
    add_result_args(parser)
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
    problem = missing_checkpoint(args.model, args.checkpoint)
    if problem:
        parser.error(problem)
    check_choice(args.backend, args.precision, args.device, args.onnx, args.threads)
    return args


@dataclass
class Plan:
    """What the input is ("images" or "video"), the inputs, each one's name (a `boxes:`
    file's key: the path below the folder given, or the file name), its result files
    (drawing or video, then JSON) and which of them to do (`results`)."""
    kind: str
    inputs: list
    keys: dict
    targets: dict
    results: ResultPlan = field(init=False)


def _complete(json_path: Path) -> bool:
    """Whether a video's JSON says the run finished (not stopped partway)."""
    try:
        return json.loads(json_path.read_text()).get("complete") is True
    except (OSError, ValueError, AttributeError):
        return False


def plan_outputs(args: argparse.Namespace) -> Plan:
    """The plan of a run, checked before any work: the input exists, the output folder can
    be written and is apart from the inputs, results that exist are refused, skipped or
    replaced as the flags say."""
    out = check_output_dir(args.out)
    source = Path(args.input)
    if is_webcam(args.input) or (source.is_file() and is_video(source)):
        stem = out / (f"webcam{args.input}" if is_webcam(args.input) else source.stem)
        plan = Plan("video", [args.input], {args.input: source.name},
                    {args.input: [stem.with_name(stem.name + s) for s in (".mp4", ".json")]})
    else:
        if not source.exists():
            raise FileNotFoundError(f"{args.input}: no such image, video or folder, and not a "
                                    f"webcam index (0 to {MAX_WEBCAM_INDEX})")
        if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{source}: expected an image ({', '.join(IMAGE_SUFFIXES)}), a "
                             "video, a folder or a webcam index")
        for flag in ("det_every", "max_frames"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag.replace('_', '-')} is for videos and webcams; "
                                 f"{source} is not one")
        if source.is_file():
            read_image(source)  # one image: unreadable is an error now (a folder's are skipped)
        check_apart(out, source)
        inputs = find_images(source, exclude=[out])
        root = source if source.is_dir() else source.parent
        names = result_names(inputs, root)
        plan = Plan("images", inputs, {p: p.relative_to(root).as_posix() for p in inputs},
                    {p: [out / f"{names[p]}.jpg", out / f"{names[p]}.json"] for p in inputs})
    # --skip-existing redoes a video whose results are partial
    complete = (lambda key: _complete(plan.targets[key][-1])) if plan.kind == "video" else None
    plan.results = plan_results(plan.targets, result_policy(args), complete)
    return plan


def check_boxes_listed(detector: PersonDetector, plan: Plan) -> None:
    """A box file lists every image to do (video frames are looked up as they come)."""
    if not isinstance(detector, BoxFileDetector) or plan.kind != "images":
        return
    todo = plan.results.todo
    missing = detector.missing(plan.keys[path] for path in todo)
    if missing:
        more = f" and {len(missing) - _SHOWN} more" if len(missing) > _SHOWN else ""
        raise DetectorError(f"{detector.path} has no boxes for {len(missing)} of the "
                            f"{len(todo)} images: {', '.join(missing[:_SHOWN])}{more}")


def load_pose(args: argparse.Namespace, detector: PersonDetector) -> PoseInferencer:
    pose = PoseInferencer(args.model, args.checkpoint, det=detector,
                          backend=args.backend, precision=args.precision, onnx=args.onnx,
                          device=args.device, threads=args.threads, compile=args.compile,
                          flip_test=args.flip_test)
    print(pose.describe())
    return pose


def write_image_results(pose: PoseInferencer, path: Path, plan: Plan, kpt_thr: float) -> int:
    """One image's drawing and JSON (the JSON last: an image whose JSON exists is done);
    returns the number of people."""
    image = read_image(path)
    people = pose(image, key=plan.keys[path])
    ok, jpeg = cv2.imencode(".jpg", pose.visualize(image, people, kpt_thr)[:, :, ::-1])
    if not ok:
        raise OSError(f"could not encode the drawing of {path}")
    drawing, people_json = plan.targets[path]
    write_atomic(jpeg.tobytes(), drawing, replace=plan.results.may_replace(drawing))
    write_text_atomic(json.dumps(people), people_json,
                      replace=plan.results.may_replace(people_json))
    return len(people)


def run_images(pose: PoseInferencer, plan: Plan, kpt_thr: float) -> int:
    """Each image's results; unreadable images are skipped. Returns the exit status."""
    todo, skipped = plan.results.todo, SkippedImages()
    found = done = 0
    try:
        for path in tqdm(todo, desc="images", unit="image", disable=len(todo) == 1):
            with skipped.skipping(path):
                found += write_image_results(pose, path, plan, kpt_thr)
                done += 1
    except KeyboardInterrupt:
        print(f"stopped (Ctrl-C) after {done} of {len(todo)} images; their results are kept "
              "(--skip-existing finishes the others)", file=sys.stderr)
        return INTERRUPTED
    print(f"{found} people in {done} images; results in {plan.targets[todo[0]][0].parent}")
    return skipped.report()


@dataclass
class VideoRun:
    """The frames a video run did; `stopped`: why it ended before the video did."""
    frames: list = field(default_factory=list)
    stopped: str | None = None
    error: Exception | None = None


def track_video(tracker: PoseTracker, video: VideoSource, sink: VideoSink, key: str,
                max_frames: int | None, kpt_thr: float) -> VideoRun:
    """Frame after frame: people, drawing, JSON entry. An error or Ctrl-C ends the loop and
    is returned with the frames done, so that they can be kept."""
    run = VideoRun()
    total = video.frame_count
    if max_frames is not None:
        total = min(total or max_frames, max_frames)
    with tqdm(total=total, desc=key, unit="frame") as bar:
        try:
            for index, frame in enumerate(video):
                if max_frames is not None and index >= max_frames:
                    break
                people = tracker(frame, frame_key(key, index))
                sink.write(tracker.inferencer.visualize(frame, people, kpt_thr))
                run.frames.append({"frame": index, "people": people})
                bar.update()
        except KeyboardInterrupt:
            run.stopped = "Ctrl-C"
        except Exception as err:  # noqa: BLE001  (raised again once the frames are kept)
            run.stopped, run.error = f"error at frame {len(run.frames)}: {err}", err
    return run


def run_video(args: argparse.Namespace, plan: Plan, detector: PersonDetector) -> int:
    """The drawn video and its JSON; a run stopped partway keeps its frames, marked partial
    (an error is raised again after). Returns the exit status."""
    source = plan.inputs[0]
    video_path, json_path = plan.targets[source]
    with ExitStack() as stack:
        video = VideoSource(source)  # both opened before the model loads
        stack.callback(video.close)
        sink = stack.enter_context(VideoSink(video_path, video.fps, (video.width, video.height),
                                             replace=plan.results.may_replace(video_path)))
        tracker = PoseTracker(load_pose(args, detector), det_every=args.det_every or 1)
        run = track_video(tracker, video, sink, plan.keys[source], args.max_frames,
                          args.kpt_thr)
        if run.error is not None and not run.frames:
            raise run.error  # nothing done, nothing kept
    # a webcam records until Ctrl-C: that ends it as planned
    complete = run.stopped is None or (is_webcam(source) and run.error is None)
    write_text_atomic(json.dumps({
        "source": plan.keys[source], "width": video.width, "height": video.height,
        "fps": video.fps, "frame_count": video.frame_count, "complete": complete,
        "stopped": run.stopped, "frames_done": len(run.frames), "frames": run.frames}),
        json_path, replace=plan.results.may_replace(json_path))
    if not complete:
        why = "Ctrl-C" if run.error is None else "the error below"
        print(f"partial results: {video_path} and {json_path} hold the first "
              f"{len(run.frames)} frames (\"complete\": false; stopped by {why})",
              file=sys.stderr)
    if run.error is not None:
        raise run.error
    print(f"{len(run.frames)} frames, {tracker.ids.next_id} people tracked; results in "
          f"{video_path.parent}")
    return 0 if complete else INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    """Runs the command; returns the exit status (0; 1: images were skipped; 130: stopped
    by Ctrl-C). Bad input raises, naming it."""
    args = parse_args(argv)
    plan = plan_outputs(args)
    if plan.results.done:
        print(f"{len(plan.results.done)} input(s) have their results already "
              "(--skip-existing): kept")
    if not plan.results.todo:
        return 0
    detector = build_detector(args.det, **detector_options(
        args.det, args.backend, args.device, args.threads, detector_keywords(args)))
    check_boxes_listed(detector, plan)
    if plan.kind == "video":
        return run_video(args, plan, detector)
    return run_images(load_pose(args, detector), plan, args.kpt_thr)


def cli(argv: list[str] | None = None) -> None:
    """The command line: `main`, bad input ending as `inferencer_demo.py: error: ...`."""
    exit_on_bad_input(lambda: sys.exit(main(argv)), PROG)


if __name__ == "__main__":
    cli()
