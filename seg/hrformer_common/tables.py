"""The rows of the benchmark, FLOPs and GPU-check tools as JSON, and one table per kind from
the files of several tools (the root Makefile's `make bench`, `make flops`, `make gpu-check`
run cls, pose and seg, then this):

    python -m hrformer_common.tables FILE.json [FILE.json ...]

A file holds {"kind": "speed" | "flops" | "checks", "environment": [lines], "rows": [...]}.
The exit status is 1 when a GPU-check row failed, 2 on a file that cannot be read.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Sequence

from .atomic import write_text_atomic

# kind -> the module whose format_table(rows) prints it
KINDS = {"speed": "benchmark", "flops": "flops", "checks": "gpu_check"}


def destination_problem(path: Path | None) -> str | None:
    """Why rows cannot be written to `path` (checked before any work), or None: its folder
    must exist, and an existing file is not overwritten."""
    if path is None:
        return None
    if not path.parent.is_dir():
        return f"{path}: the folder {path.parent} does not exist"
    if path.exists():
        return f"{path} exists; remove it or name another file (rows never overwrite a file)"
    return None


def write_rows(path: str | Path, kind: str, rows: Sequence[dict],
               environment: Sequence[str] = ()) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}; expected one of {sorted(KINDS)}")
    document = {"kind": kind, "environment": list(environment), "rows": list(rows)}
    write_text_atomic(json.dumps(document, indent=1) + "\n", path)


def read_rows(path: str | Path) -> dict:
    """A file of `write_rows`; a file that is not one raises ValueError naming it."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the rows ({err})") from err
    if not isinstance(document, dict) or document.get("kind") not in KINDS \
            or not isinstance(document.get("rows"), list):
        raise ValueError(f"{path}: expected an object with 'kind' (one of {sorted(KINDS)}) "
                         "and a list 'rows'")
    return document


def merge(paths: Sequence[str | Path]) -> tuple[str, bool]:
    """One table per kind (in the order first seen), each under the distinct environment
    lines of its files; and whether every GPU-check row passed."""
    kinds: dict[str, dict] = {}
    for path in paths:
        document = read_rows(path)
        merged = kinds.setdefault(document["kind"], {"environment": [], "rows": []})
        merged["environment"] += [line for line in document.get("environment", [])
                                  if line not in merged["environment"]]
        merged["rows"] += document["rows"]
    blocks = []
    for kind, merged in kinds.items():
        module = importlib.import_module(f".{KINDS[kind]}", __package__)
        blocks.append("\n".join(merged["environment"] + [module.format_table(merged["rows"])]))
    passed = all(row["ok"] for row in kinds.get("checks", {}).get("rows", []))
    return "\n\n".join(blocks), passed


def main(argv: Sequence[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else list(argv)
    if not paths:
        print("usage: python -m hrformer_common.tables FILE.json [FILE.json ...]",
              file=sys.stderr)
        return 2
    try:
        text, passed = merge(paths)
    except ValueError as err:
        print(f"tables: {err}", file=sys.stderr)
        return 2
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
