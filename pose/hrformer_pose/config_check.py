"""Refuse config mistakes that mmengine only notices late (or never), before any work.

- a top-level key that is a near miss of a Runner setting (`train_cfgg`): mmengine ignores it;
- a hook argument the hook does not take (`default_hooks.checkpoint.intervall`): mmengine's
  CheckpointHook forwards unknown arguments and fails at the first save, after an epoch;
- a `--cfg-options` value of the wrong kind (`train_cfg.max_epochs=abc`), named with the
  value the config had;
- a dataset whose metainfo (dataset-info file) is malformed (`dataset_info.py`), or whose
  keypoint count differs from the head's outputs (`model.head.out_channels`): mmpose fails
  in the loss after the data and the model are built, or flips keypoints wrongly.
"""
from __future__ import annotations

import difflib
import inspect
from typing import Any, Iterable, Mapping

from mmengine.config import Config
from mmengine.runner import Runner
from mmpose.registry import DATASETS, HOOKS

from .dataset_info import DatasetInfoError, check_dataset_info, load_dataset_info

# Top-level settings the Runner reads, besides its constructor's arguments.
_RUNNER_EXTRAS = ("model_wrapper_cfg", "custom_imports", "vis_backends", "resume", "load_from")
RUNNER_KEYS = frozenset(
    [p for p in inspect.signature(Runner.__init__).parameters if p not in ("self", "cfg")]
    + list(_RUNNER_EXTRAS))
_HOOK_META_KEYS = {"type", "priority"}


class ConfigError(ValueError):
    """A config key or value that would be ignored or fail later."""


def _did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    match = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=cutoff)
    return f"; did you mean {match[0]!r}?" if match else ""


def check_top_level(cfg: Config) -> None:
    for key in cfg.keys():
        if key not in RUNNER_KEYS and difflib.get_close_matches(key, RUNNER_KEYS, cutoff=0.85):
            raise ConfigError(f"{cfg.filename}: top-level key {key!r} is not a Runner setting "
                              f"and would be ignored{_did_you_mean(key, RUNNER_KEYS, 0.85)}")


def _hook_arguments(hook_type: Any) -> set[str] | None:
    """Named __init__ arguments of a hook class and its bases (None: not a registered name)."""
    cls = HOOKS.get(hook_type) if isinstance(hook_type, str) else hook_type
    if cls is None:
        return None
    names: set[str] = set()
    for klass in inspect.getmro(cls):
        if "__init__" in vars(klass):
            names.update(name for name, p in inspect.signature(klass.__init__).parameters.items()
                         if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names - {"self"}


def check_hooks(cfg: Config) -> None:
    hooks = [(f"default_hooks.{name}", hook) for name, hook in
             (cfg.get("default_hooks") or {}).items() if hook]
    hooks += [(f"custom_hooks[{i}]", hook) for i, hook in enumerate(cfg.get("custom_hooks") or [])]
    for where, hook in hooks:
        arguments = _hook_arguments(hook.get("type"))
        if arguments is None:
            raise ConfigError(f"{cfg.filename}: {where}.type={hook.get('type')!r} is not a "
                              "registered hook")
        for key in set(hook) - _HOOK_META_KEYS - arguments:
            raise ConfigError(f"{cfg.filename}: {where}.{key} is not an argument of "
                              f"{hook['type']}{_did_you_mean(key, arguments)}")


def _lookup(cfg: Mapping, dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def check_option_types(cfg: Config, options: Mapping[str, Any]) -> None:
    """Before merging `--cfg-options`: a number or bool setting must not become text."""
    settings = cfg.to_dict()
    for key, value in options.items():
        old = _lookup(settings, key)
        if isinstance(old, (bool, int, float)) and isinstance(value, str):
            kind = "true or false" if isinstance(old, bool) else type(old).__name__
            raise ConfigError(f"--cfg-options {key}={value}: expected {kind} (the config "
                              f"has {old!r})")


_LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _dataset_metainfo(dataset: Mapping) -> Mapping | None:
    """A dataset config's metainfo: its own, else its class's (None or empty: not a keypoint
    dataset)."""
    if "metainfo" in dataset:
        return dataset["metainfo"]
    kind = dataset.get("type")
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    return getattr(cls, "METAINFO", None)


def check_keypoints(cfg: Config) -> None:
    """Each loader's dataset has a well-formed metainfo with as many keypoints as the head has
    outputs; the error names the config, the loader and the dataset-info file."""
    settings = cfg.to_dict()
    outputs = _lookup(settings, "model.head.out_channels")
    for loader in _LOADERS:
        dataset = _lookup(settings, f"{loader}.dataset")
        metainfo = _dataset_metainfo(dataset) if isinstance(dataset, Mapping) else None
        if not metainfo:  # not a keypoint dataset (or a wrapper of one)
            continue
        try:
            info, source = load_dataset_info(metainfo)
            names = check_dataset_info(info, source)
        except DatasetInfoError as err:
            raise ConfigError(f"{cfg.filename}: {loader}.dataset: {err}") from err
        if outputs is not None and len(names) != outputs:
            raise ConfigError(
                f"{cfg.filename}: model.head.out_channels={outputs}, but {loader}.dataset has "
                f"{len(names)} keypoints ({source}); give the head one output per keypoint")
