"""Data loaders built from the configuration."""
from __future__ import annotations

import random

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, Subset

from ..utils import distributed
from ..utils.configer import Configer
from .classes import DatasetClasses
from .collate import TrainCollate, eval_collate
from .labels import LabelMapper
from .seg_dataset import SegDataset
from .transforms import Compose, Normalize


def build_mapper(configer: Configer) -> LabelMapper:
    return LabelMapper(configer.get("data.num_classes"),
                       configer.get("data.label_list", default=None),
                       configer.get("data.reduce_zero_label", default=False),
                       configer.get("data.num_raw_ids", default=None))


def build_normalize(configer: Configer) -> Normalize:
    return Normalize(configer.get("normalize.div_value"), configer.get("normalize.mean"),
                     configer.get("normalize.std"))


def per_process(total: int, what: str) -> int:
    """Split a global batch size over processes; a share of 0 is an error, not a crash."""
    share = total // distributed.world_size()
    if share < 1:
        raise ValueError(f"{what}={total} is smaller than the {distributed.world_size()} "
                         "processes; give at least one sample per process")
    return share


def _seed_worker(worker_id: int) -> None:
    seed = torch.initial_seed() % 2 ** 32
    random.seed(seed)
    np.random.seed(seed)


def build_train_loader(configer: Configer) -> DataLoader:
    dataset = SegDataset(configer.get("data.data_dir"), "train", build_mapper(configer),
                         Compose(configer.get("train_trans"), "train_trans"),
                         build_normalize(configer), configer.get("data.input_mode", default="BGR"),
                         train=True)
    if distributed.is_distributed():
        sampler = DistributedSampler(dataset, shuffle=True, seed=configer.get("seed", default=304))
    else:
        sampler = RandomSampler(dataset)
    batch = per_process(configer.get("train.batch_size"), "train.batch_size")
    drop_last = configer.get("data.drop_last", default=True)
    if drop_last and len(sampler) < batch:
        raise ValueError(f"train split of {configer.get('data.data_dir')} has {len(dataset)} "
                         f"images, fewer than one batch of {batch} per process")
    return DataLoader(dataset, batch_size=batch, sampler=sampler, drop_last=drop_last,
                      num_workers=configer.get("data.workers", default=0)
                      // distributed.world_size(),
                      collate_fn=TrainCollate(configer.get("train.data_transformer")),
                      worker_init_fn=_seed_worker, persistent_workers=False)


def build_eval_loader(configer: Configer, split: str, section: str = "val") -> DataLoader:
    """Evaluation loader for `split`; each process takes every world_size-th image."""
    with_labels = split != "test"
    dataset = SegDataset(configer.get("data.data_dir"), split, build_mapper(configer),
                         Compose(configer.get("val_trans", default={}), "val_trans"),
                         build_normalize(configer), configer.get("data.input_mode", default="BGR"),
                         with_labels=with_labels)
    shard = Subset(dataset, range(distributed.rank(), len(dataset), distributed.world_size()))
    batch = max(1, configer.get(f"{section}.batch_size", default=1) // distributed.world_size())
    return DataLoader(shard, batch_size=batch, shuffle=False, collate_fn=eval_collate,
                      num_workers=min(configer.get("data.workers", default=0), 2))


__all__ = ["DatasetClasses", "SegDataset", "LabelMapper", "build_eval_loader",
           "build_mapper", "build_train_loader"]
