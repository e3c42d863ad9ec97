"""This subproject's copy of the backbone core (common/hrformer.py) is checked: a changed byte
fails here, naming the file and the fix (`make vendor`)."""
from pathlib import Path

from hrformer_common.testing.vendored import check_vendored_copies


def test_vendored_core_matches_common(tmp_path) -> None:
    check_vendored_copies(Path(__file__).resolve().parents[1], "cls", tmp_path)
