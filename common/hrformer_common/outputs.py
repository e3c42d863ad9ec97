"""Where results go: output paths checked before any work, one result name per input.

A command that runs a model for minutes and then fails to write its result loses the work;
these checks run first. Result names keep the inputs' sub-folders, and inputs that would
share a name (`pic.jpg` and `pic.png`) keep their source suffix in it, so no result ever
overwrites another.
"""
from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

RESULT_POLICIES = ("refuse", "skip", "overwrite")
_SHOWN = 3


class OutputPathError(ValueError):
    """An output path that cannot be written, named with the reason."""


def _writable_folder(folder: Path, named: str) -> None:
    """`folder` exists as a writable folder, or can be created (its first existing ancestor is
    a writable folder); errors start with `named` (what the user gave)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputPathError(f"{named}: {probe} is a file, not a folder")
    try:  # a real write: permissions, read-only file systems and quotas all show up here
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        raise OutputPathError(f"{named}: cannot write in {probe} "
                              f"({err.strerror or err})") from err


def check_output_file(path: str | Path, suffixes: Sequence[str], what: str = "output") -> Path:
    """An output file with one of `suffixes` (e.g. ".png", ".json") whose folder can be
    written; an error naming the path otherwise."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise OutputPathError(f"{what} {path}: expected a file name ending in "
                              f"{' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputPathError(f"{what} {path}: is a folder; give a file name")
    _writable_folder(path.parent, f"{what} {path}")
    return path


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """An output folder that exists or can be created, and can be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{what} {path}: is a file, not a folder")
    _writable_folder(path, f"{what} {path}")
    return path


def check_apart(out: Path, source: Path, what: str = "--out") -> None:
    """The output folder is not the input folder itself: results written among the inputs
    would be read as inputs by the next run (an output folder inside the input folder is
    fine: `find_images` leaves it out)."""
    if source.is_dir() and Path(out).resolve() == source.resolve():
        raise OutputPathError(f"{what} {out} is the input folder: the results would be read "
                              "as inputs by the next run; choose another folder (one inside "
                              "it is fine)")


def add_result_args(parser: argparse.ArgumentParser) -> None:
    """What a run does with results that exist already (default: refuse before any work)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--skip-existing", action="store_true",
                       help="keep the results that exist and process only the other inputs "
                            "(finishes an interrupted run)")
    group.add_argument("--overwrite", action="store_true",
                       help="replace results that exist")


def result_policy(args: argparse.Namespace) -> str:
    """The policy the flags of `add_result_args` chose."""
    return "skip" if args.skip_existing else "overwrite" if args.overwrite else "refuse"


@dataclass(frozen=True)
class ResultPlan:
    """Which inputs a run processes (`todo`) or keeps (`done`: all their results exist), and
    the existing files it may replace. A result file not in `replaceable` is never replaced,
    even one that appears while the run works (another run writing the same name)."""
    todo: list
    done: list
    replaceable: frozenset

    def may_replace(self, path: Path) -> bool:
        return Path(path) in self.replaceable


def plan_results(targets: Mapping[Any, Sequence[Path]], policy: str = "refuse",
                 complete: Callable[[Any], bool] | None = None) -> ResultPlan:
    """The plan for inputs whose results are `targets[input]` (files), checked before any
    work: a result that would replace an input file is an error; with `refuse` an existing
    result is an error naming it and the flags; `skip` keeps inputs whose results all exist
    (and are `complete`, when given: e.g. a video not stopped partway) and redoes the others
    (replacing their earlier results); `overwrite` redoes everything."""
    if policy not in RESULT_POLICIES:
        raise ValueError(f"result policy {policy!r}; expected one of {list(RESULT_POLICIES)}")
    inputs = {Path(k).resolve(): k for k in targets
              if isinstance(k, (str, Path)) and Path(k).is_file()}
    for paths in targets.values():
        for path in paths:
            if Path(path).resolve() in inputs:
                raise OutputPathError(f"the result {path} would replace the input "
                                      f"{inputs[Path(path).resolve()]}; choose another output")
    existing = {key: [Path(p) for p in paths if Path(p).exists()]
                for key, paths in targets.items()}
    found = [p for paths in existing.values() for p in paths]
    if policy == "refuse" and found:
        more = f" (and {len(found) - _SHOWN} more)" if len(found) > _SHOWN else ""
        raise OutputPathError(f"output {', '.join(map(str, found[:_SHOWN]))}{more} exists; "
                              "results never replace a file: --skip-existing finishes the "
                              "other inputs, --overwrite replaces them, or choose another "
                              "output")
    done = [k for k, paths in targets.items()
            if policy == "skip" and paths and len(existing[k]) == len(paths)
            and (complete is None or complete(k))]
    todo = [k for k in targets if k not in done]
    replaceable = frozenset(p for k in todo for p in existing[k])
    return ResultPlan(todo, done, replaceable)


def result_names(inputs: Iterable[Path], root: Path | None = None) -> dict[Path, Path]:
    """A result name (no suffix) for each input: its path relative to `root` (the folder the
    inputs were found in) without the suffix; where two inputs would get one name, both keep
    their suffix (`pic_jpg`, `pic_png`). Names are unique, so results never overwrite."""
    inputs = list(inputs)
    stems = {}
    for path in inputs:
        relative = path.relative_to(root) if root is not None else Path(path.name)
        stems[path] = relative.with_suffix("")
    taken: dict[Path, list[Path]] = {}
    for path, stem in stems.items():
        taken.setdefault(stem, []).append(path)
    names = {}
    for stem, paths in taken.items():
        for path in paths:
            suffix = path.suffix.lstrip(".").lower()
            names[path] = stem if len(paths) == 1 else stem.with_name(f"{stem.name}_{suffix}")
    if len(set(names.values())) != len(names):  # `pic_jpg.png` beside `pic.jpg`: refuse
        seen: dict[Path, Path] = {}
        for path, name in names.items():
            if name in seen:
                raise OutputPathError(f"{seen[name]} and {path} would both be written as "
                                      f"{name}; rename one of them")
            seen[name] = path
    return names
