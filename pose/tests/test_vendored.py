"""This subproject's copies of common/ (`hrformer_common/`, the core) are checked: a changed
byte fails here, naming the file and the fix (`make vendor`)."""
from hrformer_common.testing import check_vendored_copies


def test_vendored_copies_match_common(tmp_path) -> None:
    check_vendored_copies("pose", tmp_path)
