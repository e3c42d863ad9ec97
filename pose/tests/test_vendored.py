"""The shared sources copied into this subproject (`hrformer_common/` and the backbone core)
are exactly those of common/ at the repository root; a changed copy fails here, naming the
file and the fix (`make vendor`)."""
from __future__ import annotations

from pathlib import Path

from hrformer_common.testing import assert_a_changed_byte_is_found, vendored_copy_problems

SUBPROJECT = "pose"


def test_copies_match_the_canonical_source() -> None:
    assert vendored_copy_problems(SUBPROJECT) == []


def test_a_changed_byte_in_a_copy_is_found(tmp_path: Path) -> None:
    assert_a_changed_byte_is_found(SUBPROJECT, tmp_path)
