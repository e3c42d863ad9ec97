"""Test helpers shared by the three subprojects' tests: the key manifests, fixtures and release
tables of `testdata/` (see its README), the deterministic weights and seeded input, the
tolerance check, sample photos, scripts loaded as modules, ONNX files with another card.
`readme` checks the READMEs, `vendored` the core's copies, `stall` a stopped rank,
`bad_input` unreadable image files and the bad-input checks of the predict commands,
`http_server` serves checkpoint URLs on the loopback address.

The test data is the repository's `testdata/`, found from the working directory upwards
(the tests run inside the repository); `HRFORMER_TESTDATA` points elsewhere.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..tolerance import difference

# Buffers a model builds itself; the recipe gives them no values.
INTEGER_BUFFERS = ("num_batches_tracked", "relative_position_index")


@functools.cache
def testdata() -> Path:
    """`HRFORMER_TESTDATA`, else the nearest `testdata/` (with releases.json) from the working
    directory upwards, else the one of the repository this package is installed from
    (editable)."""
    if os.environ.get("HRFORMER_TESTDATA"):
        return Path(os.environ["HRFORMER_TESTDATA"])
    for folder in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[3]):
        if (folder / "testdata" / "releases.json").is_file():
            return folder / "testdata"
    raise FileNotFoundError(f"no testdata/ in {Path.cwd()} or above it: run the tests inside "
                            "the repository, or set HRFORMER_TESTDATA")


@functools.cache
def manifest(name: str) -> dict:
    """keys/<name>.json: {"model", "source", "num_params", "keys": [[name, shape, dtype]]}."""
    with open(testdata() / "keys" / f"{name}.json") as f:
        return json.load(f)


@functools.cache
def fixture(name: str) -> dict:
    """fixtures/<name>.pt: {"manifest", "cases": [{"input_shape", "outputs"}], ...}."""
    return torch.load(testdata() / "fixtures" / f"{name}.pt", weights_only=True)


def recipe_state_dict(manifest_keys: Sequence[Sequence]) -> dict[str, Tensor]:
    """Deterministic weights for a key manifest (RECIPE.md), in the manifest's key names.

    Integer buffers are skipped: the model keeps the values it builds.
    """
    state = {}
    for i, (name, shape, dtype) in enumerate(manifest_keys):
        if dtype.startswith("int"):
            continue
        g = torch.Generator().manual_seed(1000 + i)
        if name.endswith("running_mean"):
            t = torch.randn(shape, generator=g) * 0.1
        elif name.endswith("running_var"):
            t = torch.rand(shape, generator=g) + 0.5
        elif name.endswith(".weight") and len(shape) == 1:
            t = 1.0 + torch.randn(shape, generator=g) * 0.1
        elif name.endswith("relative_position_bias_table"):
            t = torch.randn(shape, generator=g)
        elif len(shape) >= 2:
            t = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
        else:
            t = torch.randn(shape, generator=g) * 0.02
        state[name] = t.float()
    return state


def seeded_input(shape: Sequence[int]) -> Tensor:
    """The reference input: standard normal from a generator seeded with 0."""
    return torch.randn(list(shape), generator=torch.Generator().manual_seed(0))


def load_recipe_weights(model: nn.Module, manifest_name: str,
                        rename: Callable[[Mapping[str, Tensor]], dict[str, Tensor]] | None = None
                        ) -> dict[str, Tensor]:
    """Load the recipe weights of a manifest into `model` and return them.

    `rename` maps the manifest's key names to the model's (e.g. mmpose's head prefix). Every
    weight must fit by name and shape; only integer buffers may stay as the model built them.
    """
    state = recipe_state_dict(manifest(manifest_name)["keys"])
    if rename is not None:
        state = rename(state)
    own = model.state_dict()
    bad_shapes = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    assert not bad_shapes, f"{manifest_name}: shape mismatch for {bad_shapes[:5]}"
    result = model.load_state_dict(state, strict=False)
    assert not result.unexpected_keys, f"{manifest_name}: unexpected {result.unexpected_keys[:5]}"
    missing = [k for k in result.missing_keys if not k.endswith(INTEGER_BUFFERS)]
    assert not missing, f"{manifest_name}: missing {missing[:5]}"
    return state


def assert_matches_reference(out: Tensor, ref: Tensor, what: str) -> None:
    """The tolerance of `tolerance.py`, elementwise: |out - ref| <= 2e-5 * max|ref| + 1e-4."""
    assert out.shape == ref.shape, f"{what}: shape {tuple(out.shape)} != {tuple(ref.shape)}"
    d = difference(what, out, ref)
    assert d.ok, f"{what}: max error {d.max_abs:.3e} > {d.bound:.3e}"


# Real photos that ship inside installed packages: (package, path inside it).
SAMPLE_PHOTOS = (("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),   # 512x600
                 ("sklearn", "datasets/images/china.jpg"))                  # 640x427


def sample_photos() -> list[Path]:
    """The SAMPLE_PHOTOS files (found without importing their packages): real photos for
    the inference tests, no download."""
    paths = []
    for package, relative in SAMPLE_PHOTOS:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"sample photo {relative}: package {package} not installed")
        paths.append(Path(spec.submodule_search_locations[0]) / relative)
    return paths


@functools.cache
def _releases() -> list[dict]:
    with open(testdata() / "releases.json") as f:
        return json.load(f)["sections"]


def release_table(title: str) -> list[dict[str, str]]:
    """The rows of the release table whose title starts with `title` (e.g. "Cityscapes",
    "Results on COCO `val2017`"), one dict per row keyed by the table's header."""
    for section in _releases():
        if section["title"].startswith(title):
            return [dict(row) for row in section["rows"]]
    raise KeyError(f"no release table titled {title!r} in {testdata() / 'releases.json'}")


def load_tool(path: Path) -> ModuleType:
    """Import a script of a tools/ folder (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def copy_with_card(onnx_path: Path, path: Path, **fields) -> Path:
    """A copy of an exported file whose model card says something else (`fields`), or, with
    no fields, has no card at all: what a run given another model's file meets."""
    import onnx
    from dataclasses import replace
    from ..model_card import KEY_PREFIX, read_card, write_card
    path.write_bytes(Path(onnx_path).read_bytes())
    if fields:
        write_card(path, replace(read_card(onnx_path), **fields))
        return path
    model = onnx.load(str(path))
    kept = [p for p in model.metadata_props if not p.key.startswith(KEY_PREFIX)]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    onnx.save(model, str(path))
    return path


GUARD = "import shared_package"
_RUN_BLOCKED = """
import json, runpy, sys
sys.modules["hrformer_common"] = None  # as if the package were not installed
codes = {}
for script in sys.argv[1:]:
    sys.argv = [script, "--help"]
    try:
        runpy.run_path(script, run_name="__main__")
        codes[script] = None
    except SystemExit as exit:
        codes[script] = exit.code
print(json.dumps(codes))
"""


def assert_commands_need_the_package(subproject: Path) -> None:
    """Every command of `subproject` (main.py, tools/, demo/) imports `shared_package` first,
    and, with hrformer_common missing, stops with its one line naming what to install."""
    import subprocess
    import sys
    scripts = sorted(str(p.relative_to(subproject)) for pattern in ("main.py", "tools/*.py",
                                                                     "demo/*.py")
                     for p in subproject.glob(pattern) if GUARD in p.read_text())
    assert scripts, f"no command of {subproject} imports shared_package"
    done = subprocess.run([sys.executable, "-c", _RUN_BLOCKED, *scripts], cwd=subproject,
                          capture_output=True, text=True, timeout=600)
    codes = json.loads(done.stdout.splitlines()[-1])
    for script, code in codes.items():
        assert isinstance(code, str) and "pip install <HRFormer repository>/common" in code, \
            (script, code)
