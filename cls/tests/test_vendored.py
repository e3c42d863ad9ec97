"""Vendored files (names starting `hrformer`) are byte-identical in every subproject.

One test for the whole repository: the copies of the core and of its framework-free siblings
next to it, and the test helpers in the three tests/ folders. Files are discovered by name, so
a new vendored file is covered once it exists in one place.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hrformer_testing import REPO_ROOT

# kind -> the folders that each hold one copy of every vendored file of that kind
LOCATIONS = {
    "core": ("cls/models", "pose/hrformer_pose", "seg/lib/models/backbones"),
    "tests": ("cls/tests", "pose/tests", "seg/tests"),
}
PATTERN = "hrformer*.py"


def vendored_mismatches(root: Path, folders: tuple[str, ...]) -> list[str]:
    """Problems with the vendored files under `root`: a name missing from a folder, or copies
    whose contents differ. Empty when all is well."""
    names = sorted({p.name for folder in folders for p in (root / folder).glob(PATTERN)})
    problems = []
    for name in names:
        paths = [root / folder / name for folder in folders]
        absent = [str(p.relative_to(root)) for p in paths if not p.is_file()]
        if absent:
            problems.append(f"{name}: missing {absent}")
            continue
        digests = {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
                   for p in paths}
        if len(set(digests.values())) > 1:
            problems.append(f"{name}: copies differ {digests}")
    return problems


@pytest.mark.parametrize("kind", sorted(LOCATIONS))
def test_vendored_copies_are_identical(kind: str) -> None:
    folders = LOCATIONS[kind]
    found = {p.name for p in (REPO_ROOT / folders[0]).glob(PATTERN)}
    assert {"core": "hrformer.py", "tests": "hrformer_testing.py"}[kind] in found, found
    assert vendored_mismatches(REPO_ROOT, folders) == []


def test_mismatches_are_reported(tmp_path: Path) -> None:
    folders = ("a", "b", "c")
    for folder in folders:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "hrformer.py").write_text("x = 1\n")
        (tmp_path / folder / "other.py").write_text(folder)  # not vendored: ignored
    assert vendored_mismatches(tmp_path, folders) == []
    (tmp_path / "c" / "hrformer.py").write_text("x = 2\n")
    (tmp_path / "b" / "hrformer_new.py").write_text("")
    problems = vendored_mismatches(tmp_path, folders)
    assert len(problems) == 2
    assert problems[0].startswith("hrformer.py: copies differ") and "c/hrformer.py" in problems[0]
    assert problems[1] == "hrformer_new.py: missing ['a/hrformer_new.py', 'c/hrformer_new.py']"
