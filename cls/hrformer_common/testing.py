"""Test helpers: the key manifests, fixtures and release tables of `testdata/` (see its
README), the deterministic weights and seeded input, the tolerance check, and the README checks
(release tables, the Layout section against the files git tracks); torch and the standard
library only.

The test data sits at the repository root, `testdata/`; `HRFORMER_TESTDATA` points elsewhere.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

from . import vendor
from .tolerance import difference

# <repository>/<subproject>/hrformer_common/testing.py
REPO_ROOT = Path(__file__).resolve().parents[2]
TESTDATA = Path(os.environ.get("HRFORMER_TESTDATA", REPO_ROOT / "testdata"))
# Buffers a model builds itself; the recipe gives them no values.
INTEGER_BUFFERS = ("num_batches_tracked", "relative_position_index")


@functools.cache
def manifest(name: str) -> dict:
    """keys/<name>.json: {"model", "source", "num_params", "keys": [[name, shape, dtype]]}."""
    with open(TESTDATA / "keys" / f"{name}.json") as f:
        return json.load(f)


@functools.cache
def fixture(name: str) -> dict:
    """fixtures/<name>.pt: {"manifest", "cases": [{"input_shape", "outputs"}], ...}."""
    return torch.load(TESTDATA / "fixtures" / f"{name}.pt", weights_only=True)


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
    with open(TESTDATA / "releases.json") as f:
        return json.load(f)["sections"]


def release_table(title: str) -> list[dict[str, str]]:
    """The rows of the release table whose title starts with `title` (e.g. "Cityscapes",
    "Results on COCO `val2017`"), one dict per row keyed by the table's header."""
    for section in _releases():
        if section["title"].startswith(title):
            return [dict(row) for row in section["rows"]]
    raise KeyError(f"no release table titled {title!r} in {TESTDATA / 'releases.json'}")


def load_tool(path: Path) -> ModuleType:
    """Import a script of a tools/ folder (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_readme_lists_rows(readme: str, rows: Iterable) -> None:
    """Each released row (`hrformer_reproduce.Row`) stands in exactly one table line of the
    README (path relative to the repository root), with its log link and checkpoint file name."""
    lines = (REPO_ROOT / readme).read_text().splitlines()
    for row in rows:
        found = [line for line in lines if line.startswith("|") and row.ckpt_link in line]
        assert len(found) == 1, (readme, row.name)
        assert row.log_link in found[0] and f"`{row.file}`" in found[0], (readme, row.name)


def vendored_copy_problems(subproject: str) -> list[str]:
    """`vendor.problems` for this copy of the package (in `subproject`: cls, pose or seg),
    against `common/` where the repository has it."""
    canonical = REPO_ROOT / vendor.CANONICAL
    return vendor.problems(Path(__file__).resolve().parents[1], subproject,
                           canonical if canonical.is_dir() else None)


def check_vendored_copies(subproject: str, tmp_path: Path) -> None:
    """The copies in `subproject` match common/ (where the repository has it) and their
    SHA256SUMS; and, copied alone to `tmp_path` (no common/ beside them), they check clean,
    while one flipped byte in the core or in a module is reported with the fix."""
    problems = vendored_copy_problems(subproject)
    assert not problems, "\n".join(problems)
    source = Path(__file__).resolve().parents[1]
    copy = tmp_path / subproject
    names = vendor.package_files(source / vendor.PACKAGE) + [vendor.SUMS]
    core = Path(vendor.CORE_FOLDERS[subproject]) / vendor.CORE
    for relative in [Path(vendor.PACKAGE) / n for n in names] + [core]:
        (copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (copy / relative).write_bytes((source / relative).read_bytes())
    assert vendor.problems(copy, subproject) == []
    for relative in (core, Path(vendor.PACKAGE) / "checkpoint.py"):
        original = (copy / relative).read_bytes()
        changed = bytearray(original)
        changed[len(changed) // 2] ^= 1
        (copy / relative).write_bytes(bytes(changed))
        found = vendor.problems(copy, subproject)
        assert len(found) == 1 and str(copy / relative) in found[0], found
        assert "make vendor" in found[0]
        (copy / relative).write_bytes(original)


LAYOUT_HEADING = "## Layout"


def readme_layout(readme: Path) -> list[str]:
    """The paths the README's Layout section lists: the first word of each line of the fenced
    block under `## Layout` (an indented line continues the description above it). A path
    ending in `/` stands for every file below that folder."""
    lines = readme.read_text().splitlines()
    assert LAYOUT_HEADING in lines, f"{readme}: no '{LAYOUT_HEADING}' section"
    fences = [i for i in range(lines.index(LAYOUT_HEADING), len(lines))
              if lines[i].startswith("```")]
    assert len(fences) >= 2, f"{readme}: the Layout section has no fenced block"
    return [line.split()[0] for line in lines[fences[0] + 1:fences[1]]
            if line.strip() and not line[0].isspace()]


def project_files(folder: Path) -> list[str]:
    """The files below `folder` that git tracks or would add (not ignored), relative to it."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=folder, capture_output=True, check=True).stdout.decode()
    return sorted({name for name in out.split("\0") if name and (folder / name).is_file()})


def layout_problems(entries: Sequence[str], files: Sequence[str]) -> list[str]:
    """Each file no Layout entry covers, and each entry that covers no file."""
    def covers(entry: str, name: str) -> bool:
        return name == entry or (entry.endswith("/") and name.startswith(entry))

    return ([f"README Layout lists {e}, which does not exist" for e in entries
             if not any(covers(e, f) for f in files)]
            + [f"README Layout lacks {f}" for f in files if not any(covers(e, f) for e in entries)])


def check_readme_layout() -> None:
    """This subproject's README Layout section lists exactly its files (a folder entry: all
    below it); and the check names a new file and a vanished one."""
    subproject = Path(__file__).resolve().parents[1]
    entries, files = readme_layout(subproject / "README.md"), project_files(subproject)
    problems = layout_problems(entries, files)
    assert not problems, f"{subproject / 'README.md'}:\n" + "\n".join(problems)
    assert layout_problems(entries, [*files, "unlisted.py"]) == [
        "README Layout lacks unlisted.py"]
    listed = next(e for e in entries if not e.endswith("/"))
    assert layout_problems(entries, [f for f in files if f != listed]) == [
        f"README Layout lists {listed}, which does not exist"]


def copy_with_card(onnx_path: Path, path: Path, **fields) -> Path:
    """A copy of an exported file whose model card says something else (`fields`), or, with
    no fields, has no card at all: what a run given another model's file meets."""
    import onnx
    from dataclasses import replace
    from .model_card import KEY_PREFIX, read_card, write_card
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
