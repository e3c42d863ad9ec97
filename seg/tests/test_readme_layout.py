"""The README opens with this subproject's commands (train, evaluate, predict, export; their
scripts and configs exist) and ends with its Layout section, which lists every file of this
subproject (a new file without a README line fails here, naming it) and nothing else."""
from pathlib import Path

from hrformer_common.testing.readme import check_readme


def test_readme_opens_with_the_commands_and_ends_with_an_exact_layout() -> None:
    check_readme(Path(__file__).resolve().parents[1])
