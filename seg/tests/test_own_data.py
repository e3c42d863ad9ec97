"""Training on your own data: configs/custom/ on a generated 3-class dataset, fine-tuned with
`--pretrained` from a released-layout 19-class checkpoint (exactly the classifiers
re-initialised), the config's names and palette in SegInferencer and predict.py, and bad
labels, palettes and names refused before training."""
import functools
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hrformer_common.checkpoint import CheckpointError, load_checkpoint
from lib.apis import SegInferencer
from lib.datasets import build_mapper
from lib.datasets.seg_dataset import SegDataset
from lib.datasets.transforms import Compose
from lib.segmentor.configured_segmentor import configured_segmentor
from lib.segmentor.trainer import Trainer
from lib.utils.command_line import load_config
from main import main
from test_released_checkpoint import write_released_checkpoint
from tools import predict
from tools.make_demo_data import generate

SEG = Path(__file__).resolve().parents[1]
CUSTOM = SEG / "configs" / "custom" / "H_48_D_4.json"
NAMES = ("road", "building", "car")
PALETTE = [(128, 64, 128), (70, 70, 70), (0, 0, 142)]
CLASSIFIERS = {"cls_head.weight", "cls_head.bias", "aux_head.2.weight", "aux_head.2.bias"}


@pytest.fixture(scope="module")
def own_data(tmp_path_factory, micro_layout):
    """The generated dataset of configs/custom/, a test config inheriting that one (the micro
    model, small crops: what a user's config changes) and a released 19-class checkpoint."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("own_data")
    data = generate(root / "my_data", num_train=2, num_val=1, seed=3, custom=True)
    config = root / "my_config.json"
    config.write_text(json.dumps({
        "_base_": str(CUSTOM), "data": {"data_dir": str(data), "workers": 0},
        "network": {"backbone": str(micro_layout), "model_name": "hrt_small_ocr_v2"},
        "train": {"batch_size": 2, "data_transformer": {"input_size": [128, 64]}},
        "train_trans": {"random_crop": {"crop_size": [128, 64]}},
        "val": {"batch_size": 1}, "checkpoints": {"checkpoints_dir": str(root / "ckpt")},
        "logging": {"tensorboard": False}, "lr": {"warm": {"warm_iters": 1}},
        "solver": {"max_iters": 2, "test_interval": 2, "display_iter": 1}}))
    released = root / "cityscapes_released.pth"
    write_released_checkpoint(released, micro_layout)
    return root, data, config, released


def train_args(config: Path, *flags: str) -> list[str]:
    return ["--configs", str(config), "--phase", "train", *flags]


@pytest.fixture(scope="module")
def fine_tuned(own_data):
    """main.py fine-tuning 2 iterations from the released checkpoint; the model's weights
    as loaded, before the first optimiser step."""
    root, _, config, released = own_data
    loaded, train = {}, Trainer.train

    def train_after_looking(trainer):
        loaded.update({k: v.clone() for k, v in trainer.model.state_dict().items()})
        return train(trainer)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "train", train_after_looking)
        main(train_args(config, "--pretrained", str(released), "--log-to-file", "y",
                        "--log-file", str(root / "train.log")))
    return loaded, root / "train.log", root / "ckpt" / "custom_hrt_small_ocr_v2_latest.pth"


def test_fine_tuning_reinitialises_exactly_the_classifiers(own_data, fine_tuned):
    _, _, config, released = own_data
    loaded, log_file, latest = fine_tuned
    checkpoint = {k.removeprefix("module."): v
                  for k, v in load_checkpoint(released)["state_dict"].items()}
    assert checkpoint["cls_head.weight"].shape[0] == 19
    differing = {k for k, v in loaded.items()
                 if v.shape != checkpoint[k].shape or not torch.equal(v, checkpoint[k])}
    assert differing == CLASSIFIERS
    assert loaded["cls_head.weight"].shape == (3, 512, 1, 1)
    # re-initialised: the values of a model built from scratch with main.py's seed
    torch.manual_seed(304)
    fresh = configured_segmentor(load_config(train_args(config))[0], torch.device("cpu"))
    assert all(torch.equal(loaded[k], fresh.state_dict()[k]) for k in CLASSIFIERS)

    lines = [line for line in log_file.read_text().splitlines() if "re-initialised" in line]
    assert len(lines) == 1 and f"fine-tuning from segmentation checkpoint {released}" in lines[0]
    assert "4 re-initialised" in lines[0] and all(k in lines[0] for k in CLASSIFIERS)
    assert "cls_head.weight: checkpoint (19, 512, 1, 1) vs model (3, 512, 1, 1)" in lines[0]
    saved = load_checkpoint(latest)
    assert saved["config_dict"]["iters"] == 2
    assert saved["state_dict"]["aux_head.2.bias"].shape == (3,)


def test_the_inferencer_and_predict_use_the_names_and_palette(own_data, fine_tuned, tmp_path):
    _, data, config, _ = own_data
    trained = fine_tuned[2]
    segment = SegInferencer(config, str(trained), threads=1)
    assert segment.class_names == NAMES and segment.card.labels == NAMES
    image = data / "val" / "image" / "demo_val_0000.jpg"
    result = segment(str(image), return_overlay=True, alpha=1.0)
    found = sorted(np.unique(result["label"]).tolist())
    assert set(found) <= {0, 1, 2}   # the raw ids are the train ids
    assert result["classes"] == {i: NAMES[i] for i in found}
    expected = np.array(PALETTE, dtype=np.uint8)[result["label"]]
    np.testing.assert_array_equal(result["overlay"], expected)   # alpha 1: the colours alone

    written, status = predict.main([str(image), "--model", str(config), "--checkpoint",
                                    str(trained), "--out", str(tmp_path / "out"), "--threads", "1"])
    assert status == 0
    np.testing.assert_array_equal(np.asarray(Image.open(written[0])), result["label"])
    legend = json.loads((tmp_path / "out" / "classes.json").read_text())
    assert legend == [{"label_id": i, "train_id": i, "name": NAMES[i], "color": list(PALETTE[i])}
                      for i in range(3)]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def test_a_segmentation_checkpoint_by_url_initialises_the_model(own_data, tmp_path,
                                                                monkeypatch):
    _, _, config, released = own_data
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    handler = functools.partial(QuietHandler, directory=str(released.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{released.name}"
    try:
        configer, _ = load_config(train_args(config, "--pretrained", url))
        model = configured_segmentor(configer, torch.device("cpu"))
    finally:
        server.shutdown()
        server.server_close()
    state = load_checkpoint(released)["state_dict"]
    assert torch.equal(model.backbone.conv1.weight, state["module.backbone.conv1.weight"])
    assert (tmp_path / "torch_home" / "hub" / "checkpoints" / released.name).is_file()


def test_a_checkpoint_of_another_head_is_refused(own_data):
    _, _, config, released = own_data
    configer, _ = load_config(train_args(config, "--pretrained", str(released),
                                         "--model-name", "hrt_small_ocr_v3"))
    with pytest.raises(CheckpointError, match=r"does not fit HRTOCR outside cls_head\., "
                                              r"aux_head\.2\. \(another variant or config\?\): "
                                              r"2 tensors would stay initialised \(aux_head\.0\."
                                              r"weight, conv3x3\.0\.weight\)"):
        configured_segmentor(configer, torch.device("cpu"))


def relabelled(data: Path, tmp_path: Path, split: str, value) -> Path:
    """A copy of the dataset with one pixel of the first `split` label set to `value` (an
    int), or that label saved as an RGB image (value "rgb")."""
    copy = tmp_path / "data"
    for path in data.rglob("*.*"):
        (copy / path.relative_to(data)).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.relative_to(data)).write_bytes(path.read_bytes())
    bad = sorted((copy / split / "label").glob("*.png"))[0]
    label = np.asarray(Image.open(bad)).copy()
    if value == "rgb":
        Image.fromarray(np.stack([label] * 3, axis=-1)).save(bad)
    else:
        label[5, 7] = value
        Image.fromarray(label).save(bad)
    return bad


@pytest.mark.parametrize("split, value, message", [
    ("train", 3, r"label values \[3\] are outside the dataset's 3 classes \(expected 0\.\.2, "
                 r"or 255 for ignored pixels\)"),
    ("val", 200, r"label values \[200\] are outside"),
    ("train", "rgb", r"label must be a single-channel"),
])
def test_bad_labels_are_named_before_any_weights_load(own_data, tmp_path, split, value,
                                                      message):
    _, data, config, _ = own_data
    bad = relabelled(data, tmp_path, split, value)
    # a --pretrained file that does not exist: the labels are checked first
    with pytest.raises(ValueError, match=f"{bad}: {message}"):
        main(train_args(config, "--data-dir", str(bad.parents[2]), "--pretrained",
                        str(tmp_path / "missing.pth")))


def test_a_paper_dataset_checks_each_label_when_read(own_data, tmp_path):
    """With a label_list (the released datasets' configs) a bad value is found when its
    sample is read, not by a scan at start."""
    _, data, _, _ = own_data
    bad = relabelled(data, tmp_path, "train", 40)
    configer, _ = load_config(["--configs", str(SEG / "configs/demo/H_48_D_4.json")])
    dataset = SegDataset(bad.parents[2], "train", build_mapper(configer), Compose({}),
                         lambda image: image, train=True)
    with pytest.raises(ValueError, match=f"{bad}: label values \\[40\\] are not raw ids"):
        dataset[0]


@pytest.mark.parametrize("pair, message", [
    (("data.palette", "[[1, 2, 3]]"), r"data\.palette has 1 colours for data\.num_classes=3; "
                                      r"expected one \[R, G, B\] per class"),
    (("data.palette", "[[1, 2, 3], [300, 0, 0], [0, 0, 0]]"),
     r"data\.palette\[1\] is \[300, 0, 0\]; expected \[R, G, B\], three integers 0\.\.255"),
    (("data.palette", "[[1, 2, 3], [4, 5], [0, 0, 0]]"), r"data\.palette\[1\] is \[4, 5\]"),
    (("data.class_names", '["road", "car"]'),
     r"data\.class_names has 2 names for data\.num_classes=3; expected one name per class"),
    (("data.num_classes", "4"), r"data\.class_names has 3 names for data\.num_classes=4"),
])
def test_bad_palettes_and_names_are_named_with_the_config(pair, message):
    with pytest.raises(ValueError, match=f"{CUSTOM}: {message}"):
        load_config(train_args(CUSTOM, *pair))
