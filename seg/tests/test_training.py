"""main.py end to end on CPU: training, checkpoints, resume, test phase and scoring."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from helpers_train import eval_args, make_dataset, train_args
from lib.datasets import build_mapper
from lib.metrics.evaluate import score_folders
from lib.segmentor import tester
from lib.utils.configer import Configer
from lib.utils.command_line import load_config
from main import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    data = make_dataset(root)
    ckpt_dir = root / "ckpt"
    args = train_args(data, ckpt_dir) + ["--log_to_file", "y", "--log_file",
                                         str(root / "train.log"), "logging.tensorboard", "true"]
    best = main(args)
    return root, data, ckpt_dir, best


def test_training_writes_latest_and_best_checkpoints_and_logs(trained):
    root, _, ckpt_dir, best = trained
    latest = torch.load(ckpt_dir / "demo_hrt_ocr_v2_latest.pth", weights_only=False)
    assert latest["config_dict"]["iters"] == 2
    assert latest["config_dict"]["max_performance"] == pytest.approx(best)
    assert (ckpt_dir / "demo_hrt_ocr_v2_max_performance.pth").is_file()
    assert not list(ckpt_dir.glob(".*tmp*"))   # atomic writes leave no temporary files
    assert "optimizer" in latest and "ETA" in (root / "train.log").read_text()
    assert list((ckpt_dir / "tensorboard").rglob("events.out.tfevents.*"))


def test_checkpoint_round_trip_and_resume_continues(trained, tmp_path):
    _, data, ckpt_dir, _ = trained
    latest = ckpt_dir / "demo_hrt_ocr_v2_latest.pth"
    resumed_dir = tmp_path / "resumed"
    args = train_args(data, resumed_dir, max_iters=3) + [
        "--resume", str(latest), "--resume_continue", "y", "--test_interval", "1"]
    main(args)
    saved = torch.load(latest, weights_only=False)
    resumed = torch.load(resumed_dir / "demo_hrt_ocr_v2_latest.pth", weights_only=False)
    assert resumed["config_dict"]["iters"] == 3   # one more iteration, not three
    changed = [k for k, v in saved["state_dict"].items()
               if v.is_floating_point() and not torch.equal(v, resumed["state_dict"][k])]
    assert changed   # the extra iteration trained from the saved weights
    step = resumed["optimizer"]["state"][0]["step"]
    assert float(step) == 3   # AdamW state restored (2 saved steps + 1)


def test_resume_without_continue_only_validates(trained):
    _, data, ckpt_dir, best = trained
    args = train_args(data, ckpt_dir / "unused") + [
        "--resume", str(ckpt_dir / "demo_hrt_ocr_v2_max_performance.pth")]
    assert main(args) == pytest.approx(best)
    assert not (ckpt_dir / "unused").exists()


def test_test_phase_writes_label_ids_and_scores_them(trained, tmp_path, monkeypatch):
    _, data, ckpt_dir, best = trained
    out = tmp_path / "val_ss"
    tested, fold = [], tester.reparameterize_model  # the tester folds its model, once
    monkeypatch.setattr(tester, "reparameterize_model", lambda m: tested.append(fold(m)))
    result = main(eval_args(data, ckpt_dir / "demo_hrt_ocr_v2_max_performance.pth", out)
                  + ["--save_prob", "y"])
    assert len(tested) == 1 and tested[0].folded and tested[0].backbone.folded
    assert result["mIoU"] == pytest.approx(best)   # same model (folded), same ss inference as val
    assert json.loads((out / "metrics.json").read_text())["mIoU"] == pytest.approx(best)
    labels = sorted((out / "label").glob("*.png"))
    assert len(labels) == 2 and len(list((out / "vis").glob("*.png"))) == 2
    raw = np.asarray(Image.open(labels[0]))
    assert raw.shape == (128, 256) and set(np.unique(raw)) <= {7, 11, 21, 24, 26}
    assert np.asarray(Image.open(out / "vis" / labels[0].name)).shape == (128, 256, 3)
    prob = np.load(out / "prob" / labels[0].with_suffix(".npy").name).astype(np.float32)
    assert prob.shape[1:] == (128, 256)
    np.testing.assert_allclose(prob.sum(0), 1.0, atol=1e-2)
    mapper = build_mapper(Configer.from_file("configs/demo/H_48_D_4.json"))
    from_prob = mapper.to_raw_ids(prob.argmax(0).astype(np.uint8))
    assert (from_prob == raw).mean() > 0.99  # float16 may only break near-ties differently
    offline = score_folders(Configer.from_file("configs/demo/H_48_D_4.json"), out / "label",
                            data / "val" / "label")
    assert offline.miou() == pytest.approx(result["mIoU"])


def test_cli_flags_override_json_and_pairs_override_any_key():
    configer, _ = load_config(["--configs", "configs/cityscapes/H_48_D_4.json",
                               "--base_lr", "0.0001", "--loss_type", "fs_auxohemce_loss",
                               "--drop_last", "n", "solver.display_iter", "5",
                               "train.data_transformer.input_size", "[512, 256]"])
    assert configer.get("lr.base_lr") == 1e-4
    assert configer.get("loss.loss_type") == "fs_auxohemce_loss"
    assert configer.get("data.drop_last") is False
    assert configer.get("solver.display_iter") == 5
    assert configer.get("train.data_transformer.input_size") == [512, 256]
    assert configer.get("solver.max_iters") == 40000   # untouched JSON value


def test_missing_data_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"train split folder {tmp_path}/nowhere/train"):
        main(train_args(tmp_path / "nowhere", tmp_path / "ckpt"))


def test_bad_label_value_names_the_file(tmp_path):
    data = make_dataset(tmp_path, num_train=2, num_val=1)
    bad = data / "train" / "label" / "demo_train_0000.png"
    label = np.asarray(Image.open(bad)).copy()
    label[0, 0] = 40
    Image.fromarray(label).save(bad)
    with pytest.raises(ValueError, match=f"{bad}: label values \\[40\\]"):
        main(train_args(data, tmp_path / "ckpt"))
