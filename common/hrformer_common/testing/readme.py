"""Test helpers for the READMEs: the release tables they print, and the Layout section against
the files git tracks (standard library only)."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable, Sequence

LAYOUT_HEADING = "## Layout"


def assert_readme_lists_rows(readme: Path, rows: Iterable) -> None:
    """Each released row (`hrformer_common.reproduce.Row`) stands in exactly one table line of
    `readme`, with its log link and checkpoint file name."""
    lines = Path(readme).read_text().splitlines()
    for row in rows:
        found = [line for line in lines if line.startswith("|") and row.ckpt_link in line]
        assert len(found) == 1, (readme, row.name)
        assert row.log_link in found[0] and f"`{row.file}`" in found[0], (readme, row.name)


def readme_layout(readme: Path) -> list[str]:
    """The paths the README's Layout section lists: the first word of each line of the fenced
    block under `## Layout` (an indented line continues the description above it). A path
    ending in `/` stands for every file below that folder."""
    lines = readme.read_text().splitlines()
    assert LAYOUT_HEADING in lines, f"{readme}: no '{LAYOUT_HEADING}' section"
    fences = [i for i in range(lines.index(LAYOUT_HEADING), len(lines))
              if lines[i].startswith("```")]
    assert len(fences) >= 2, f"{readme}: the Layout section has no fenced block"
    return [line.split()[0] for line in lines[fences[0] + 1:fences[1]]
            if line.strip() and not line[0].isspace()]


def project_files(folder: Path) -> list[str]:
    """The files below `folder` that git tracks or would add (not ignored), relative to it."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=folder, capture_output=True, check=True).stdout.decode()
    return sorted({name for name in out.split("\0") if name and (folder / name).is_file()})


def layout_problems(entries: Sequence[str], files: Sequence[str]) -> list[str]:
    """Each file no Layout entry covers, and each entry that covers no file."""
    def covers(entry: str, name: str) -> bool:
        return name == entry or (entry.endswith("/") and name.startswith(entry))

    return ([f"README Layout lists {e}, which does not exist" for e in entries
             if not any(covers(e, f) for f in files)]
            + [f"README Layout lacks {f}" for f in files if not any(covers(e, f) for e in entries)])


def check_readme_layout(subproject: Path) -> None:
    """The README Layout section of the subproject in folder `subproject` lists exactly its
    files (a folder entry: all below it); and the check names a new file and a vanished one."""
    entries, files = readme_layout(subproject / "README.md"), project_files(subproject)
    problems = layout_problems(entries, files)
    assert not problems, f"{subproject / 'README.md'}:\n" + "\n".join(problems)
    assert layout_problems(entries, [*files, "unlisted.py"]) == [
        "README Layout lacks unlisted.py"]
    listed = next(e for e in entries if not e.endswith("/"))
    assert layout_problems(entries, [f for f in files if f != listed]) == [
        f"README Layout lists {listed}, which does not exist"]
