"""Access to the shared reference data (manifests, fixtures) and the checks built on it.

The data lives next to the repository (../shared/reference from the repository root) and is
never copied into it.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor, nn

from models.hrformer import recipe_state_dict

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE = REPO_ROOT / ".." / "shared" / "reference"


@lru_cache(maxsize=None)
def manifest(name: str) -> dict:
    """keys/<name>.json: {"model", "source", "num_params", "keys": [[name, shape, dtype]]}."""
    with open(REFERENCE / "keys" / f"{name}.json") as f:
        return json.load(f)


def fixture(name: str) -> dict:
    return torch.load(REFERENCE / "fixtures" / f"{name}.pt", weights_only=True)


def load_recipe_weights(model: nn.Module, manifest_name: str) -> None:
    """Load the RECIPE.md weights by key name; only integer buffers may stay unloaded."""
    keys = manifest(manifest_name)["keys"]
    state = recipe_state_dict(keys)
    own = model.state_dict()
    bad_shapes = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    assert not bad_shapes, f"shape mismatch: {bad_shapes[:5]}"
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys, result.unexpected_keys[:5]
    int_keys = {name for name, _, dtype in keys if dtype.startswith("int")}
    missing = set(result.missing_keys) - int_keys
    assert not missing, sorted(missing)[:5]


def assert_matches_reference(out: Tensor, ref: Tensor, what: str) -> None:
    """|out - ref| <= 2e-5 * max|ref| + 1e-4, elementwise (the shared tolerance)."""
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} != {tuple(ref.shape)}"
    err = (out - ref).abs()
    bound = 2e-5 * ref.abs().max() + 1e-4
    assert bool((err <= bound).all()), f"{what}: max error {err.max():.3e} > {bound:.3e}"
