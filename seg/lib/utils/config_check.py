"""Refuse unknown flags and config keys before any work, naming the closest valid one.

A key is known when a shipped config (configs/**/*.json) has it, the code reads it
(`READ_KEYS`) or a flag sets it. The original's no-op flags (`--shape`, `--fig_num`,
`--use_ground_truth`) are declared by the parser and stay accepted.
"""
from __future__ import annotations

import argparse
import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

SHIPPED_CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# Keys the code reads with a default, so that a shipped config need not have them.
READ_KEYS = (
    "checkpoints.checkpoints_dir", "checkpoints.checkpoints_name", "checkpoints.checkpoints_root",
    "data.class_names", "data.input_mode", "data.label_list", "data.num_raw_ids",
    "data.palette", "data.reduce_zero_label", "logging.stdout_level", "logging.tensorboard", "lr.warm.warm_iters",
    "lr.warm.warm_ratio", "network.loss_weights", "network.resume_eval_val", "seed",
    "test.crop_size", "test.flip", "test.scale_search", "test.save_prob", "test.split",
    "train.amp", "val.mode", "test.mode",
)


def _leaf_keys(node: Any, prefix: str = "") -> Iterable[str]:
    if isinstance(node, Mapping) and node:
        for key, value in node.items():
            yield from _leaf_keys(value, f"{prefix}{key}.")
    elif prefix:
        yield prefix[:-1]


@lru_cache(maxsize=1)
def _shipped_keys() -> frozenset[str]:
    keys: set[str] = set()
    for path in SHIPPED_CONFIGS.rglob("*.json"):
        keys.update(_leaf_keys(json.loads(path.read_text())))
    return frozenset(keys)


def _closest(name: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def reject_unknown_flags(extra: list[str], parser: argparse.ArgumentParser) -> None:
    """Trailing `--name` arguments that are neither flags nor dotted `key.sub` overrides."""
    flags = [s for action in parser._actions for s in action.option_strings]
    for token in extra[::2]:
        if token.startswith("-") and "." not in token:
            raise ValueError(f"unknown flag {token}{_closest(token, flags)} (config keys are "
                             "overridden with trailing `key.sub value` pairs)")


def reject_unknown_keys(params: Mapping, source: str, flag_keys: Iterable[str]) -> None:
    """Every leaf key of the resolved config must be known (see the module docstring)."""
    known = _shipped_keys() | set(READ_KEYS) | set(flag_keys)
    sections = {k.rsplit(".", 1)[0] for k in known if "." in k}
    for key in _leaf_keys(params):
        if key not in known and key not in sections:
            raise ValueError(f"{source}: unknown config key {key!r}{_closest(key, known)}")
