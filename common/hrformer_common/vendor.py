"""The copies of the backbone core: `make vendor` writes them, each subproject's tests check
them (standard library only).

`common/hrformer.py` is the one source that is edited; each subproject vendors its own copy
of it (the rest of this package is installed, not copied):

    common/hrformer.py -> cls/models/, pose/hrformer_pose/, seg/lib/models/backbones/

`CORE_SHA256` in this package records the source's hash, so that a copy is checked also
where `common/` is absent (a subproject copied out of the repository, with this package
installed from it).

    python -m hrformer_common.vendor --repo <repository>        (`make vendor`)
"""
from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

CORE = "hrformer.py"
CORE_FOLDERS = {"cls": "models", "pose": "hrformer_pose", "seg": "lib/models/backbones"}
CANONICAL = "common"
DIGEST_FILE = Path(__file__).with_name("CORE_SHA256")
FIX = "run `make vendor` at the repository root (edit common/hrformer.py, not the copies)"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_digest(record: Path = DIGEST_FILE) -> str | None:
    """The core's hash as `make vendor` last recorded it; None when the record is missing."""
    return record.read_text().split()[0] if record.is_file() else None


def core_copy(subproject: Path, name: str) -> Path:
    """Where the subproject `name` (cls, pose or seg) in folder `subproject` keeps its copy."""
    if name not in CORE_FOLDERS:
        raise ValueError(f"subproject {name!r}; expected one of {list(CORE_FOLDERS)}")
    return subproject / CORE_FOLDERS[name] / CORE


def problems(subproject: Path, name: str, canonical: Path | None = None,
             record: Path = DIGEST_FILE) -> list[str]:
    """What is wrong with the core's copy in `subproject` (named `name`): missing, not the
    recorded hash, or not the canonical source `canonical` (common/hrformer.py, when given).
    Empty when all is well."""
    core, recorded = core_copy(subproject, name), recorded_digest(record)
    found = []
    if recorded is None:
        found.append(f"{record} is missing")
    if not core.is_file():
        found.append(f"{core} is missing")
    elif recorded is not None and digest(core) != recorded:
        found.append(f"{core} was changed (its hash is not the one in {record.name})")
    if canonical is not None:
        if recorded is not None and digest(canonical) != recorded:
            found.append(f"{canonical} was edited since its hash was recorded in {record.name}")
        if core.is_file() and core.read_bytes() != canonical.read_bytes():
            found.append(f"{core} differs from {canonical}")
    return [f"{line}: {FIX}" for line in found]


def sync(repo: Path) -> list[Path]:
    """Record the canonical core's hash, then write every copy; returns the files written."""
    source = repo / CANONICAL / CORE
    written = []
    text = f"{digest(source)}  {CORE}\n"
    if not DIGEST_FILE.is_file() or DIGEST_FILE.read_text() != text:
        DIGEST_FILE.write_text(text)
        written.append(DIGEST_FILE)
    for name in CORE_FOLDERS:
        copy = core_copy(repo / name, name)
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            shutil.copyfile(source, copy)
            written.append(copy)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2],
                        help="the repository root (default: the one this package is in)")
    repo = parser.parse_args(argv).repo.resolve()
    if not (repo / CANONICAL / CORE).is_file():
        parser.error(f"{repo / CANONICAL / CORE} not found; --repo must be the repository root")
    for path in sync(repo):
        print(f"updated {path}")
    print(f"vendor: the copies in {', '.join(CORE_FOLDERS)} match {CANONICAL}/{CORE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
