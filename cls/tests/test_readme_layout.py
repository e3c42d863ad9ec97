"""The README opens with this subproject's commands (train, evaluate, predict, export; their
scripts and configs exist) and ends with its Layout section, which lists every file of this
subproject (a new file without a README line fails here, naming it) and nothing else. From
here also: the top README's first screen gives the commands of each task."""
from pathlib import Path

from hrformer_common.testing.readme import check_readme, check_top_readme

CLS = Path(__file__).resolve().parents[1]


def test_readme_opens_with_the_commands_and_ends_with_an_exact_layout() -> None:
    check_readme(CLS)


def test_top_readme_first_screen_gives_each_tasks_commands() -> None:
    check_top_readme(CLS.parent, ("cls", "pose", "seg"))
