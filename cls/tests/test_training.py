"""Training components: one iteration per AMP mode, optimizer groups, LR rule, checkpoints."""
from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from timm.loss import SoftTargetCrossEntropy

from conftest import TINY_CONFIG
from config import load_config
from data import build_loaders, build_mixup
from engine.checkpoint import TrainingState, resume_training, save_checkpoint
from engine.distributed import DistInfo
from engine.loop import Amp, RunLog, TrainParts, train_one_epoch
from engine.optim import build_optimizer, build_scheduler, parameter_groups, scaled_lrs
from models import build_model
from hrformer_common.checkpoint import CheckpointError, load_checkpoint, load_weights, state_dict_of
from hrformer_common.rng import rng_state

pytestmark = pytest.mark.usefixtures("one_thread")

LOG = logging.getLogger("test")
CPU = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
ORIGINAL_KEYS = {"model", "optimizer", "lr_scheduler", "max_accuracy", "epoch", "config"}


def setup(folder: Path, *opts: str):
    config = load_config(TINY_CONFIG, ["DATA.DATA_PATH", str(folder), *opts])
    _, _, train_loader, _ = build_loaders(config)
    torch.manual_seed(0)
    model = build_model(config)
    lrs = scaled_lrs(config, 1)
    optimizer = build_optimizer(config, model, lrs.lr)
    scheduler = build_scheduler(config, optimizer, lrs, len(train_loader))
    return config, model, optimizer, scheduler, train_loader


class OneBatch:
    """The first batch of a loader, as a one-iteration loader."""

    def __init__(self, loader) -> None:
        self.batch = next(iter(loader))

    def __iter__(self):
        return iter([self.batch])

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize("level,dtype", [("O0", "float16"), ("O1", "float16"),
                                         ("O1", "bfloat16"), ("O2", "bfloat16")])
def test_one_iteration_per_amp_mode(folder_data: Path, level: str, dtype: str) -> None:
    config, model, optimizer, scheduler, loader = setup(
        folder_data, "AMP_OPT_LEVEL", level, "AMP_DTYPE", dtype,
        "TRAIN.WARMUP_EPOCHS", "0", "TRAIN.BASE_LR", "0.5")  # lr 4e-3: every weight moves
    amp = Amp.from_config(config, torch.device("cpu"))
    assert amp.enabled == (level != "O0")
    scaler = amp.grad_scaler()
    assert not scaler.is_enabled()  # loss scaling is for fp16 on CUDA only
    before = [p.detach().clone() for p in model.parameters()]
    parts = TrainParts(model, SoftTargetCrossEntropy(), optimizer, scheduler, scaler, amp,
                       build_mixup(config))
    stats = train_one_epoch(config, parts, OneBatch(loader), 0, CPU, RunLog(LOG))
    assert torch.isfinite(torch.tensor(stats["loss"]))
    unchanged = [n for (n, p), b in zip(model.named_parameters(), before) if torch.equal(p, b)]
    assert not unchanged
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_amp_settings_are_validated() -> None:
    bad = load_config(TINY_CONFIG, ["AMP_DTYPE", "float8"])
    with pytest.raises(ValueError, match="AMP_DTYPE='float8'"):
        Amp.from_config(bad, torch.device("cpu"))
    if torch.cuda.is_available():
        fp16 = load_config(TINY_CONFIG, ["AMP_OPT_LEVEL", "O1"])
        assert Amp.from_config(fp16, torch.device("cuda")).grad_scaler().is_enabled()


def test_no_weight_decay_follows_the_original() -> None:
    model = build_model(load_config(TINY_CONFIG))
    decay, no_decay = parameter_groups(model, 0.05)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.05, 0.0)
    assert decayed | exempt == set(names.values()) and not decayed & exempt
    # HRT has no no_weight_decay(): its 2-D relative-position tables are decayed.
    assert any(n.endswith("relative_position_bias_table") for n in decayed)
    assert all(model.get_parameter(n).ndim > 1 for n in decayed)
    assert "classifier.bias" in exempt and "bn1.weight" in exempt


def test_lr_scaling_and_cosine_schedule() -> None:
    config = load_config(TINY_CONFIG, ["DATA.BATCH_SIZE", "128", "TRAIN.EPOCHS", "300",
                                       "TRAIN.WARMUP_EPOCHS", "20"])
    lrs = scaled_lrs(config, 8)  # run_dist.sh: 8 x 128
    assert (lrs.lr, lrs.warmup_lr, lrs.min_lr) == pytest.approx((1e-3, 1e-6, 1e-5))
    accumulated = load_config(TINY_CONFIG, ["DATA.BATCH_SIZE", "128",
                                            "TRAIN.ACCUMULATION_STEPS", "2"])
    assert scaled_lrs(accumulated, 8).lr == pytest.approx(2e-3)
    model = build_model(config)
    optimizer = build_optimizer(config, model, lrs.lr)
    n = 10
    scheduler = build_scheduler(config, optimizer, lrs, n)
    scheduler.step_update(5 * n)  # a quarter of the warm-up
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1e-6 + 0.25 * (1e-3 - 1e-6))
    scheduler.step_update(20 * n)  # the cosine runs on the absolute step (warmup_prefix=False)
    expected = 1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + torch.cos(torch.tensor(torch.pi * 20 / 300)))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(float(expected))
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.05, 0.0]


def test_checkpoint_round_trip_in_the_original_layout(folder_data: Path, tmp_path: Path) -> None:
    config, model, optimizer, scheduler, loader = setup(folder_data)
    amp = Amp.from_config(config, torch.device("cpu"))
    scaler = amp.grad_scaler()
    parts = TrainParts(model, SoftTargetCrossEntropy(), optimizer, scheduler, scaler, amp,
                       build_mixup(config))
    train_one_epoch(config, parts, OneBatch(loader), 0, CPU, RunLog(LOG))
    state = TrainingState(model, optimizer, scheduler, scaler, config)
    save_checkpoint(tmp_path, state, 0, 12.5, [rng_state()], periodic=True, logger=LOG)
    assert {p.name for p in tmp_path.glob("*.pth")} == {"ckpt_epoch_0.pth", "latest.pth"}
    assert not list(tmp_path.glob(".*"))  # no temp file or link left
    loaded = load_checkpoint(tmp_path / "latest.pth")
    assert ORIGINAL_KEYS | {"scaler", "rng"} == set(loaded)
    assert isinstance(loaded["config"], OrderedDict)  # the pickled CfgNode, read as data
    assert loaded["config"]["MODEL"]["NAME"] == "hrt_test_tiny"
    assert not any(k.startswith("module.") for k in loaded["model"])

    _, fresh, fresh_opt, fresh_sched, _ = setup(folder_data)
    load_weights(fresh, state_dict_of(loaded, "latest.pth"), "latest.pth")
    fresh_run = TrainingState(fresh, fresh_opt, fresh_sched, scaler, config)
    start, best = resume_training(loaded, "latest.pth", fresh_run, 0, 1, LOG)
    assert (start, best) == (1, 12.5)
    for a, b in zip(model.state_dict().values(), fresh.state_dict().values()):
        assert torch.equal(a, b)
    assert fresh_sched.state_dict() == scheduler.state_dict()
    state, fresh_state = optimizer.state_dict()["state"], fresh_opt.state_dict()["state"]
    assert all(torch.equal(state[k]["exp_avg"], fresh_state[k]["exp_avg"]) for k in state)


def test_original_checkpoint_without_our_extras_resumes(folder_data: Path, tmp_path: Path) -> None:
    """A file with only the original's keys (and its apex 'amp' entry) resumes here."""
    config, model, optimizer, scheduler, _ = setup(folder_data)
    original = {"model": {f"module.{k}": v for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(), "lr_scheduler": scheduler.state_dict(),
                "max_accuracy": 70.0, "epoch": 4, "config": config, "amp": {"loss_scaler0": {}}}
    torch.save(original, tmp_path / "ckpt_epoch_4.pth")  # pickles the yacs CfgNode, as it did
    loaded = load_checkpoint(tmp_path / "ckpt_epoch_4.pth")
    load_weights(model, state_dict_of(loaded, "x"), "x")
    scaler = Amp.from_config(config, torch.device("cpu")).grad_scaler()
    run = TrainingState(model, optimizer, scheduler, scaler, config)
    assert resume_training(loaded, "x", run, 0, 1, LOG) == (5, 70.0)


def test_loading_errors_name_the_file(tmp_path: Path) -> None:
    model = build_model(load_config(TINY_CONFIG))
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        load_checkpoint(tmp_path / "nothing.pth")
    state = model.state_dict()
    state.pop("classifier.weight")
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"other\.pth.*classifier\.weight.*extra\.weight"):
        load_weights(model, state, "other.pth")
    torch.save({"model": state, "hook": print}, tmp_path / "unsafe.pth")
    with pytest.raises(CheckpointError, match=r"unsafe\.pth.*weights-only"):
        load_checkpoint(tmp_path / "unsafe.pth")
