"""Training on your own keypoints (README, "Train on your own data"): a config inheriting the
example (configs/custom/), on generated 9-keypoint data, fine-tuned through tools/train.py from
a 17-keypoint checkpoint in the original's layout given by URL; exactly the head re-initialised
and named in one log line; tools/test.py scoring with the dataset's sigmas; PoseInferencer and
the demo giving 9 keypoints and drawing the dataset's skeleton; a checkpoint of another backbone
refused."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import runpy
import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import DEMO_CONFIG, POSE, checkpoint_bytes, seeded_weights
from demo import inferencer_demo
from demo.stick_figures import make_split
from hrformer_common.checkpoint import CheckpointError
from hrformer_common.testing.http_server import LoopbackServer
from hrformer_pose.apis import PoseInferencer
from hrformer_pose.checkpoint_keys import to_official_state_dict
from hrformer_pose.dataset_info import check_dataset_info, keypoint_names, load_dataset_info
from hrformer_pose.deploy import inference_model
from hrformer_pose.fine_tune import PoseRunner, load_for_fine_tuning
from mmengine.config import Config
from mmpose.apis import init_model
from xtcocotools.coco import COCO
from xtcocotools.cocoeval import COCOeval

EXAMPLE = POSE / "configs/custom/hrt_small_stick_figures_9kpt_256x192.py"
DATASET_INFO = POSE / "configs/_base_/datasets/stick_figures_9kpt.py"
HEAD_KEYS = ["head.final_layer.bias", "head.final_layer.weight"]
TRAIN = runpy.run_path(str(POSE / "tools" / "train.py"))
TEST = runpy.run_path(str(POSE / "tools" / "test.py"))


def nine_keypoints() -> list[str]:
    return check_dataset_info(*load_dataset_info({"from_file": str(DATASET_INFO)}))


def small_config(folder: Path, data_root: Path) -> Path:
    """A config inheriting the example, as a user's would: the data root, here also the demo's
    small backbone (fast on CPUs), one epoch, loaders without worker processes."""
    layout = Config.fromfile(DEMO_CONFIG).model.backbone.extra.to_dict()
    loader = "batch_size=2, num_workers=0, persistent_workers=False"
    path = folder / "small_own_data.py"
    path.write_text(textwrap.dedent(f"""\
        _base_ = [{str(EXAMPLE)!r}]
        data_root = {str(data_root) + '/'!r}
        model = dict(backbone=dict(extra={layout!r}),
                     head=dict(in_channels={layout['stage4']['num_channels'][0]}))
        train_cfg = dict(max_epochs=1)
        default_hooks = dict(checkpoint=dict(interval=1))
        train_dataloader = dict({loader}, dataset=dict(data_root=data_root))
        val_dataloader = dict({loader}, dataset=dict(data_root=data_root))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
        test_evaluator = val_evaluator
        """))
    return path


def released_checkpoint(config: Path) -> tuple[bytes, dict[str, torch.Tensor]]:
    """A 17-keypoint checkpoint of the config's network as the original released them
    (`keypoint_head.*`), with seeded weights: the file's bytes, and its weights in our names."""
    cfg = Config.fromfile(config)
    cfg.model.head.out_channels = 17
    state = seeded_weights(init_model(cfg, None, device="cpu"))
    return checkpoint_bytes(to_official_state_dict(state)), state


@pytest.fixture(scope="module")
def own_data(tmp_path_factory) -> Path:
    """annotations/{train,val}.json + images/ with the example's 9 keypoints (4 + 3 images)."""
    root = tmp_path_factory.mktemp("own_data")
    make_split(root, "train", 4, seed=1, keypoints=nine_keypoints(), images="images")
    make_split(root, "val", 3, seed=2, keypoints=nine_keypoints(), images="images")
    return root


@pytest.fixture(scope="module")
def fine_tuned(own_data, tmp_path_factory) -> SimpleNamespace:
    """tools/train.py, two iterations, `load_from` a URL of the released-layout checkpoint;
    the model's weights are kept right before and after loading (before the first step)."""
    folder = tmp_path_factory.mktemp("fine_tune")
    config = small_config(folder, own_data)
    data, released = released_checkpoint(config)
    name = f"coco_17-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    weights: dict[str, dict] = {}
    load = PoseRunner.load_or_resume

    def load_and_keep(runner) -> None:
        weights["before"] = {k: v.clone() for k, v in runner.model.state_dict().items()}
        load(runner)
        weights["after"] = {k: v.clone() for k, v in runner.model.state_dict().items()}

    with LoopbackServer() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCH_HOME", str(folder / "torch_home"))
        patch.setattr(PoseRunner, "load_or_resume", load_and_keep)
        server.files[f"/{name}"] = data
        url = f"{server.url}/{name}"
        TRAIN["main"]([str(config), "--work-dir", str(folder / "work"), "--no-validate",
                       "--cfg-options", f"load_from={url}", "train_dataloader.dataset.indices=4"])
        requests = list(server.requests)
    return SimpleNamespace(config=config, checkpoint=folder / "work" / "epoch_1.pth", url=url,
                           released=released, requests=requests, **weights,
                           log=next((folder / "work").glob("*/*.log")).read_text())


def test_fine_tuning_reinitialises_exactly_the_head_and_names_it_once(fine_tuned):
    released, after = fine_tuned.released, fine_tuned.after
    assert sorted(after) == sorted(released)
    differing = sorted(k for k, v in after.items() if not torch.equal(v, released[k]))
    assert differing == HEAD_KEYS  # every other tensor is the checkpoint's
    for key in HEAD_KEYS:  # the head kept its initial weights, with 9 outputs
        assert torch.equal(after[key], fine_tuned.before[key]) and after[key].shape[0] == 9
        assert released[key].shape[0] == 17
    lines = [line for line in fine_tuned.log.splitlines() if "re-initialised" in line]
    assert len(lines) == 1 and fine_tuned.url in lines[0]
    assert "2 re-initialised (head.final_layer.bias: checkpoint (17,) vs model (9,); " \
           "head.final_layer.weight: checkpoint (17, 16, 1, 1) vs model (9, 16, 1, 1))" in lines[0]
    assert "size mismatch" not in fine_tuned.log and "do not match" not in fine_tuned.log
    assert len(fine_tuned.requests) == 1  # downloaded once into torch's cache
    trained = torch.load(fine_tuned.checkpoint, weights_only=True)
    assert trained["meta"]["iter"] == 2
    assert keypoint_names(trained["meta"]["dataset_meta"]) == nine_keypoints()


def _coco_ap(ann_file: Path, results: Path, sigmas: list[float]) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(ann_file))
        evaluation = COCOeval(truth, truth.loadRes(str(results)), "keypoints",
                              np.array(sigmas), use_area=True)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


def test_tools_test_scores_with_the_datasets_sigmas(fine_tuned, own_data, tmp_path):
    """A copy of the dataset info with wide OKS sigmas: the barely trained model's AP is high
    with them and low with the example's; tools/test.py's equals COCO's evaluation with them."""
    wide = tmp_path / "wide_sigmas.py"
    wide.write_text(DATASET_INFO.read_text() + "\ndataset_info['sigmas'] = [1.0] * 9\n")
    metrics = TEST["main"]([str(fine_tuned.config), str(fine_tuned.checkpoint), "--work-dir",
                            str(tmp_path / "work"), "--cfg-options",
                            f"test_dataloader.dataset.metainfo.from_file={wide}",
                            f"test_evaluator.outfile_prefix={tmp_path / 'scored'}"])
    ann_file, results = own_data / "annotations" / "val.json", tmp_path / "scored.keypoints.json"
    assert metrics["coco/AP"] == pytest.approx(_coco_ap(ann_file, results, [1.0] * 9))
    example = list(load_dataset_info({"from_file": str(DATASET_INFO)})[0]["sigmas"])
    assert metrics["coco/AP"] > 0.5 > _coco_ap(ann_file, results, example)


def _link_colour(drawing: np.ndarray, a: list[float], b: list[float]) -> np.ndarray:
    return drawing[round((a[1] + b[1]) / 2), round((a[0] + b[0]) / 2)]


def test_inferencer_and_demo_give_the_datasets_keypoints_and_skeleton(fine_tuned, own_data,
                                                                       tmp_path):
    names = nine_keypoints()
    pose = PoseInferencer(fine_tuned.config, fine_tuned.checkpoint)
    image = own_data / "images" / "val" / "00001.png"
    people = pose(image)
    assert people and all(len(person["keypoints"]) == 9 for person in people)
    assert keypoint_names(pose.dataset_meta) == names
    assert inference_model(fine_tuned.config, str(fine_tuned.checkpoint))[1].labels == \
        tuple(names)

    # A figure drawn from known keypoints: each of the dataset's links in its colour, no other.
    spots = [[100, 20], [130, 50], [70, 50], [170, 90], [30, 90], [120, 120], [80, 120],
             [130, 180], [70, 180]]
    person = {"bbox": [0, 0, 1, 1], "keypoints": [[x, y, 1.0] for x, y in spots]}
    drawing = pose.visualize(np.zeros((200, 200, 3), np.uint8), [person])
    links = pose.dataset_meta["skeleton_links"]
    assert len(links) == 10
    for (a, b), colour in zip(links, pose.dataset_meta["skeleton_link_colors"]):
        drawn = _link_colour(drawing, spots[a], spots[b]).astype(int)
        assert np.abs(drawn - colour).max() < 40, (names[a], names[b])
    for a, b in (("right_hand", "right_foot"), ("left_hand", "left_foot")):  # not linked
        assert not _link_colour(drawing, spots[names.index(a)], spots[names.index(b)]).any()

    assert inferencer_demo.main([str(image), "--model", str(fine_tuned.config), "--checkpoint",
                                 str(fine_tuned.checkpoint), "--out", str(tmp_path / "out"),
                                 "--threads", "1"]) == 0
    written = json.loads((tmp_path / "out" / f"{image.stem}.json").read_text())
    np.testing.assert_allclose([p["keypoints"] for p in written],  # another thread count
                               [p["keypoints"] for p in people], rtol=1e-4, atol=1e-6)


def test_fine_tuning_refuses_a_checkpoint_of_another_backbone():
    """Only head layers may stay initialised: the HRFormer-T layout's checkpoint does not fit
    the demo's backbone, and nothing is loaded."""
    demo = init_model(Config.fromfile(DEMO_CONFIG), None, device="cpu")
    tiny = init_model(Config.fromfile(POSE / "configs/hrformer/coco/hrt_tiny_coco_256x192.py"),
                      None, device="cpu")
    before = {k: v.clone() for k, v in demo.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"hrt_tiny\.pth does not fit TopdownPoseEstimator "
                                              r"outside head\. \(another variant or config\?\): "
                                              r"390 tensors would stay initialised"):
        load_for_fine_tuning(demo, {"state_dict": tiny.state_dict()}, "hrt_tiny.pth")
    assert all(torch.equal(v, before[k]) for k, v in demo.state_dict().items())
