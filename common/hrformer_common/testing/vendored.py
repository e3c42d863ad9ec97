"""Test helper: a subproject's copy of the backbone core is the canonical one (`vendor.py`)."""
from __future__ import annotations

from pathlib import Path

from .. import vendor


def check_vendored_copies(subproject: Path, name: str, tmp_path: Path) -> None:
    """The core's copy in `subproject` (named `name`: cls, pose or seg) matches the recorded
    hash and, where the repository has it, common/hrformer.py; copied alone to `tmp_path` (no
    common/ beside it) it checks clean, while one flipped byte is reported with the fix."""
    canonical = subproject.parent / vendor.CANONICAL / vendor.CORE
    problems = vendor.problems(subproject, name, canonical if canonical.is_file() else None)
    assert not problems, "\n".join(problems)
    source, copy = vendor.core_copy(subproject, name), vendor.core_copy(tmp_path / name, name)
    copy.parent.mkdir(parents=True)
    copy.write_bytes(source.read_bytes())
    assert vendor.problems(tmp_path / name, name) == []
    changed = bytearray(source.read_bytes())
    changed[len(changed) // 2] ^= 1
    copy.write_bytes(bytes(changed))
    found = vendor.problems(tmp_path / name, name)
    assert len(found) == 1 and str(copy) in found[0] and "make vendor" in found[0], found
