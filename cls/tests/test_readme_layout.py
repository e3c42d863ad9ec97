"""The README opens with this subproject's commands (train, evaluate, predict, export; their
scripts and configs exist) and ends with its Layout section, which lists every file of this
subproject (a new file without a README line fails here, naming it) and nothing that does not
exist. From here also: the top README's first screen gives the commands of each task."""
from pathlib import Path

from hrformer_common.testing.readme import (check_readme_commands, check_readme_layout,
                                            check_top_readme)

SUBPROJECT = Path(__file__).resolve().parents[1]


def test_readme_layout_lists_exactly_the_files() -> None:
    check_readme_layout(SUBPROJECT)


def test_readme_opens_with_the_commands_and_ends_with_the_layout() -> None:
    check_readme_commands(SUBPROJECT)


def test_top_readme_first_screen_gives_each_tasks_commands() -> None:
    check_top_readme(SUBPROJECT.parent, ("cls", "pose", "seg"))
