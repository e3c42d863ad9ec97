"""Without the shared package installed, every command stops with one line saying what to
install (`shared_package.py`), not an ImportError traceback."""
from pathlib import Path

from hrformer_common.testing import assert_commands_need_the_package


def test_commands_name_the_missing_package() -> None:
    assert_commands_need_the_package(Path(__file__).resolve().parents[1])
