"""The README's Layout section lists every file of this subproject (a new file without a
README line fails here, naming it), and nothing that does not exist."""
from pathlib import Path

from hrformer_common.testing.readme import check_readme_layout


def test_readme_layout_lists_exactly_the_files() -> None:
    check_readme_layout(Path(__file__).resolve().parents[1])
