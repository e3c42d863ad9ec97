"""The environment fixes: mmcv.ops placeholder and safe loading of mmengine checkpoints."""
from __future__ import annotations

import importlib.util
import os
import pickle

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.datasets import CocoDataset
from torch import nn


class _Toy(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        out = self.linear(torch.stack(inputs))
        return {"loss": out.pow(2).mean()} if mode == "loss" else out


class _Data(torch.utils.data.Dataset):
    metainfo = parse_pose_metainfo(CocoDataset.METAINFO)  # holds numpy arrays and scalars

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int) -> dict:
        return {"inputs": torch.full((2,), float(i))}


def _train_one_epoch(work_dir) -> str:
    runner = Runner(
        model=_Toy(), work_dir=str(work_dir), default_scope=None, randomness=dict(seed=0),
        train_dataloader=dict(dataset=_Data(), batch_size=2, collate_fn=dict(type="pseudo_collate"),
                              sampler=dict(type="DefaultSampler", shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type="AdamW", lr=1e-3)),
        param_scheduler=[dict(type="LinearLR", begin=0, end=2, by_epoch=False)],
        train_cfg=dict(by_epoch=True, max_epochs=1),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1)))
    runner.train()
    return os.path.join(work_dir, "epoch_1.pth")


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = _train_one_epoch(tmp_path)
    checkpoint = torch.load(path)  # weights_only=True is torch's default
    assert isinstance(checkpoint["message_hub"]["log_scalars"]["train/loss"], HistoryBuffer)
    assert checkpoint["meta"]["dataset_meta"]["sigmas"].shape == (17,)
    model = _Toy()
    load_checkpoint(model, path)
    assert torch.equal(model.linear.weight, checkpoint["state_dict"]["linear.weight"])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo unsafe",))


class _EvilGetattr:
    def __reduce__(self):
        return (getattr, (HistoryBuffer, "__init__"))


@pytest.mark.parametrize("payload", [_Evil(), _EvilGetattr()])
def test_untrusted_globals_are_still_refused(tmp_path, payload):
    path = tmp_path / "untrusted.pth"
    torch.save({"state_dict": {}, "x": payload}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


@pytest.mark.skipif(importlib.util.find_spec("mmcv._ext") is not None,
                    reason="full mmcv is installed: no placeholder")
def test_mmcv_ops_placeholder_refuses_use():
    import mmcv.ops

    with pytest.raises(RuntimeError, match="DeformConv2d needs mmcv's compiled ops"):
        mmcv.ops.DeformConv2d(4, 4, 3)
