"""The copies of the shared sources in each subproject: `make vendor` writes them, each
subproject's tests check them (standard library only).

`common/` at the repository root is the one source that is edited:

    common/hrformer.py        -> cls/models/, pose/hrformer_pose/, seg/lib/models/backbones/
    common/hrformer_common/   -> cls/, pose/, seg/  (this package)

The copies are committed, so a subproject still works when copied out of the repository
alone. `SHA256SUMS` in the package records every file's hash (the core's as
`core/hrformer.py`), so a copy can be checked where `common/` is absent too.

    python -m hrformer_common.vendor        (from common/; `make vendor` at the root)
"""
from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

CORE = "hrformer.py"
PACKAGE = "hrformer_common"
SUMS = "SHA256SUMS"
CORE_KEY = f"core/{CORE}"
CORE_FOLDERS = {"cls": "models", "pose": "hrformer_pose", "seg": "lib/models/backbones"}
CANONICAL = "common"
FIX = "run `make vendor` at the repository root (edit common/, not the copies)"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_files(package: Path) -> list[str]:
    """The package's files (relative, sorted), without SHA256SUMS and Python caches."""
    return sorted(p.relative_to(package).as_posix() for p in package.rglob("*")
                  if p.is_file() and p.name != SUMS and "__pycache__" not in p.parts)


def sums_text(package: Path, core: Path) -> str:
    lines = [f"{digest(package / name)}  {name}" for name in package_files(package)]
    lines.append(f"{digest(core)}  {CORE_KEY}")
    return "\n".join(lines) + "\n"


def read_sums(package: Path) -> dict[str, str]:
    """SHA256SUMS as {file: hash}; empty when the file is missing."""
    path = package / SUMS
    if not path.is_file():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        value, _, name = line.partition("  ")
        sums[name] = value
    return sums


def problems(subproject: Path, name: str, canonical: Path | None = None) -> list[str]:
    """What is wrong with the copies in `subproject` (named `name`: cls, pose or seg): a file
    that differs from its recorded hash or from the canonical source in `canonical` (when
    given), a file missing or left over. Empty when all is well."""
    package, core = subproject / PACKAGE, subproject / CORE_FOLDERS[name] / CORE
    found = []
    sums = read_sums(package)
    if not sums:
        found.append(f"{package / SUMS} is missing")
    copies = {**{f: package / f for f in package_files(package)}, CORE_KEY: core}
    for key, value in sums.items():
        path = copies.get(key)
        if path is None or not path.is_file():
            found.append(f"{package / key if key != CORE_KEY else core} is missing")
        elif digest(path) != value:
            found.append(f"{path} was changed (its hash is not the one in {SUMS})")
    found += [f"{package / key} is not part of the shared package"
              for key in copies if key not in sums and sums]
    if canonical is not None:
        source = {**{f: canonical / PACKAGE / f for f in package_files(canonical / PACKAGE)},
                  SUMS: canonical / PACKAGE / SUMS, CORE_KEY: canonical / CORE}
        copies[SUMS] = package / SUMS
        for key, path in source.items():
            copy = copies.get(key)
            if copy is None or not copy.is_file() or copy.read_bytes() != path.read_bytes():
                found.append(f"{copy or package / key} differs from {path}")
    return [f"{line}: {FIX}" for line in found]


def sync(repo: Path) -> list[Path]:
    """Write SHA256SUMS of the canonical source, then every copy; returns the files written."""
    source = repo / CANONICAL
    (source / PACKAGE / SUMS).write_text(sums_text(source / PACKAGE, source / CORE))
    files = package_files(source / PACKAGE) + [SUMS]
    written = []
    for name, core_folder in CORE_FOLDERS.items():
        package = repo / name / PACKAGE
        for stale in set(package_files(package) if package.is_dir() else []) - set(files):
            (package / stale).unlink()
        for relative in files:
            src, dst = source / PACKAGE / relative, package / relative
            if not dst.is_file() or dst.read_bytes() != src.read_bytes():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                written.append(dst)
        core = repo / name / core_folder / CORE
        if core.read_bytes() != (source / CORE).read_bytes():
            shutil.copyfile(source / CORE, core)
            written.append(core)
    return written


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    if not (repo / CANONICAL / PACKAGE).is_dir():
        print(f"vendor: {repo / CANONICAL / PACKAGE} not found; run from the repository",
              file=sys.stderr)
        return 2
    written = sync(repo)
    for path in written:
        print(f"updated {path.relative_to(repo)}")
    print(f"vendor: {len(written)} file(s) updated; copies in {', '.join(CORE_FOLDERS)} "
          "match common/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
