"""openseg-style configuration: a JSON file whose values command-line flags override.

A file may start from another: `"_base_": "H_48_D_4.json"` (a path relative to the file, or a
list of them, merged in order) loads that file first, then merges this one into it key by key;
sections (objects) merge recursively, any other value (lists included) replaces the base's.
Flags map onto dotted keys (`--base_lr` -> `lr.base_lr`); trailing `key.sub value` pairs
override any other key.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

_MISSING = object()
BASE_KEY = "_base_"


def _parse_value(text: str) -> Any:
    """A trailing override's value: JSON when it parses (numbers, lists, true), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def merge_dicts(base: Mapping, override: Mapping) -> dict:
    """`base` updated by `override`: nested dicts merge, other values replace."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_dicts(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read_with_bases(path: Path, chain: tuple[Path, ...]) -> dict:
    where = f" (the {BASE_KEY} of {chain[-1]})" if chain else ""
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist{where}")
    if path.resolve() in {p.resolve() for p in chain}:
        raise ValueError(f"config file {path}: {BASE_KEY} cycle "
                         f"{' -> '.join(map(str, (*chain, path)))}")
    try:
        with open(path) as f:
            params = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"config file {path} is not valid JSON: {err}") from err
    if not isinstance(params, dict):
        raise ValueError(f"config file {path}: expected a JSON object, got {type(params).__name__}")
    bases = params.pop(BASE_KEY, [])
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ValueError(f"config file {path}: {BASE_KEY} must be a file name or a list of them "
                         f"(relative to the file), got {bases!r}")
    merged: dict = {}
    for base in bases:
        merged = merge_dicts(merged, _read_with_bases(path.parent / base, (*chain, path)))
    return merge_dicts(merged, params)


class Configer:
    """Nested-dict configuration read with `get("lr", "base_lr")` or `get("lr.base_lr")`."""

    def __init__(self, config: Mapping | None = None, source: str = "<dict>") -> None:
        self.params: dict = copy.deepcopy(dict(config or {}))
        self.source = source

    @classmethod
    def from_file(cls, path: str | Path) -> "Configer":
        """The JSON file at `path`, with its `_base_` files merged underneath."""
        return cls(_read_with_bases(Path(path), ()), str(path))

    @staticmethod
    def _keys(keys: Iterable[str]) -> list[str]:
        return [part for key in keys for part in key.split(".")]

    def exists(self, *keys: str) -> bool:
        return self.get(*keys, default=_MISSING) is not _MISSING

    def get(self, *keys: str, default: Any = _MISSING) -> Any:
        node: Any = self.params
        for key in self._keys(keys):
            if not isinstance(node, Mapping) or key not in node:
                if default is _MISSING:
                    raise KeyError(f"{self.source}: missing config key {'.'.join(keys)!r}")
                return default
            node = node[key]
        return node

    def set(self, keys: str | Iterable[str], value: Any) -> None:
        parts = self._keys([keys] if isinstance(keys, str) else keys)
        node = self.params
        for key in parts[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"{self.source}: cannot set {'.'.join(parts)}: "
                                 f"{key!r} is not a section")
        node[parts[-1]] = value

    def apply_overrides(self, flags: Mapping[str, Any], flag_keys: Mapping[str, str]) -> None:
        """Copy each flag whose value is not None onto its dotted key."""
        for flag, value in flags.items():
            if value is not None and flag in flag_keys:
                self.set(flag_keys[flag], value)

    def apply_pairs(self, pairs: list[str]) -> None:
        """Trailing `key.sub value [key2 value2 ...]` overrides."""
        if len(pairs) % 2:
            raise ValueError(f"extra arguments must come in `key value` pairs, got {pairs}")
        for key, value in zip(pairs[::2], pairs[1::2]):
            self.set(key.lstrip("-"), _parse_value(value))

    def to_dict(self) -> dict:
        return copy.deepcopy(self.params)
