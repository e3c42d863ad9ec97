"""Test helpers for the READMEs: the release tables they print, the Layout section against
the files git tracks, and the opening: the commands first, on the top README's first screen too
(standard library only)."""
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


# The README's opening: each subproject README starts with its commands, the top README's first
# screen with a block per task (a reader should find the command before the reference text).
COMMANDS_HEADING = "## Commands"
INSTALL_HEADING = "## Install"
JOBS = ("train", "evaluate", "predict", "export")
NEEDS_CHECKPOINT = ("evaluate", "predict", "export")
FIRST_SCREEN = 60
MAX_INTRO_LINES = 3


def headings(lines: Sequence[str]) -> list[tuple[int, str]]:
    """The `## ` headings outside fenced blocks, with their line index."""
    found, fenced = [], False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            found.append((i, line.rstrip()))
    return found


def section(lines: Sequence[str], heading: str) -> list[str]:
    """The lines of the `## ` section titled `heading`, up to the next `## ` heading."""
    starts = headings(lines)
    for n, (i, title) in enumerate(starts):
        if title == heading:
            end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
            return list(lines[i + 1:end])
    raise AssertionError(f"no '{heading}' section")


def job_commands(lines: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    """The labelled commands of the fenced blocks in `lines`, by folder and job: a comment line
    `# <job> ...` labels the command after it (`\\`-continued lines joined), and `cd <folder>`
    sets the folder of the commands after it in its block ("" without one)."""
    found: dict[str, dict[str, list[str]]] = {}
    fenced, folder, job, pending = False, "", None, ""
    for line in lines:
        if line.startswith("```"):
            fenced, folder, job = not fenced, "", None
            continue
        text = line.strip()
        if not fenced or not text:
            continue
        if text.startswith("#"):
            job = text.lstrip("# ").split(" ")[0].rstrip(":,")
        elif text.startswith("cd "):
            folder = text.split()[1]
        elif text.endswith("\\"):
            pending += text[:-1] + " "
        else:
            if job is not None:
                command = " ".join((pending + text).split())
                found.setdefault(folder, {}).setdefault(job, []).append(command)
            job, pending = None, ""
    return found


def one_command_problems(folder: Path, job: str, command: str) -> list[str]:
    """What is wrong with one command run in `folder`: its script (the first word ending in .py
    or .sh) or a `configs/` file it names does not exist; an evaluate, predict or export command
    names no checkpoint; a predict or export command lacks the shared --model / --checkpoint."""
    words = command.split()
    scripts = [w for w in words if w.endswith((".py", ".sh"))]
    paths = scripts[:1] + [w for w in words if w.startswith("configs/")]
    problems = [f"{job} command names {p}, which does not exist" for p in paths
                if not (folder / p).is_file()]
    if not scripts:
        problems.append(f"{job} command runs no script: {command}")
    if job in NEEDS_CHECKPOINT and not any(w.endswith(".pth") for w in words):
        problems.append(f"{job} command names no checkpoint: {command}")
    if job in ("predict", "export") and not {"--model", "--checkpoint"} <= set(words):
        problems.append(f"{job} command lacks --model/--checkpoint: {command}")
    return problems


def command_problems(root: Path, commands: dict[str, dict[str, list[str]]],
                     folders: Sequence[str]) -> list[str]:
    """What is wrong with the commands of each folder (relative to `root`): a job of JOBS
    without a command, and what one_command_problems finds in each command."""
    problems = []
    for folder in folders:
        by_job, place = commands.get(folder, {}), folder or root.name
        problems += [f"{place}: no {job} command" for job in JOBS if job not in by_job]
        problems += [f"{place}: {problem}" for job, lines in by_job.items() for command in lines
                     for problem in one_command_problems(root / folder, job, command)]
    return problems


def opening_problems(lines: Sequence[str]) -> list[str]:
    """A subproject README's order: a title and at most MAX_INTRO_LINES of intro, then
    `## Commands`, then `## Install` (saying how a copy outside the repository gets the shared
    package), and `## Layout` last."""
    found = headings(lines)
    if len(found) < 3:
        return [f"only {len(found)} '## ' sections"]
    titles = [title for _, title in found]
    problems = [f"the {place} section is '{titles[n]}', not '{want}'" for place, n, want in
                (("first", 0, COMMANDS_HEADING), ("second", 1, INSTALL_HEADING),
                 ("last", -1, LAYOUT_HEADING)) if titles[n] != want]
    intro = [line for line in lines[1:found[0][0]] if line.strip()]
    if len(intro) > MAX_INTRO_LINES:
        problems.append(f"the intro has {len(intro)} lines, more than {MAX_INTRO_LINES}")
    install = "\n".join(section(lines, INSTALL_HEADING)) if INSTALL_HEADING in titles else ""
    problems += [f"Install does not say '{need}'" for need in
                 ("pip install <repository>/common", "hrformer_common", "make install")
                 if need not in install]
    return problems


def readme_command_problems(subproject: Path, lines: Sequence[str]) -> list[str]:
    """Everything opening_problems and command_problems find in a subproject README's lines."""
    problems = opening_problems(lines)
    if problems:
        return problems
    return command_problems(subproject, job_commands(section(lines, COMMANDS_HEADING)), [""])


def without_job(lines: Sequence[str], job: str) -> list[str]:
    """`lines` with the comment lines labelling `job` commands relabelled: what a README that
    dropped that command reads like to job_commands."""
    return [line.replace(f"# {job}", "# (dropped)") if line.lstrip().startswith(f"# {job}")
            else line for line in lines]


def check_readme_commands(subproject: Path) -> None:
    """The README of the subproject in folder `subproject` opens with its commands (a job each
    of JOBS, their scripts and configs existing), has Install second and Layout last; and the
    check names a dropped command and a section out of place."""
    lines = (subproject / "README.md").read_text().splitlines()
    problems = readme_command_problems(subproject, lines)
    assert not problems, f"{subproject / 'README.md'}:\n" + "\n".join(problems)
    assert readme_command_problems(subproject, without_job(lines, "export")) == [
        f"{subproject.name}: no export command"]
    assert readme_command_problems(subproject, [*lines, "## Appendix"]) == [
        f"the last section is '## Appendix', not '{LAYOUT_HEADING}'"]


def check_top_readme(repository: Path, tasks: Sequence[str]) -> None:
    """The first FIRST_SCREEN lines of the repository's README give each task's commands
    (`cd <task>`, then a job each of JOBS), each as the task's own README gives it; and the
    check names a task whose block left the first screen."""
    lines = (repository / "README.md").read_text().splitlines()
    commands = job_commands(lines[:FIRST_SCREEN])
    problems = command_problems(repository, commands, tasks)
    for task in tasks:
        own = (repository / task / "README.md").read_text().splitlines()
        listed = job_commands(section(own, COMMANDS_HEADING)).get("", {})
        problems += [f"{task}: {job} command {c!r} is not in {task}/README.md, Commands"
                     for job, cs in commands.get(task, {}).items() for c in cs
                     if c not in listed.get(job, [])]
    assert not problems, f"{repository / 'README.md'}, first {FIRST_SCREEN} lines:\n" + \
        "\n".join(problems)
    last = tasks[-1]
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["cd", last])
    fence = max(i for i in range(start) if lines[i].startswith("```"))
    pushed = [*lines[:fence], *[""] * FIRST_SCREEN, *lines[fence:]]
    assert command_problems(repository, job_commands(pushed[:FIRST_SCREEN]), tasks) == [
        f"{last}: no {job} command" for job in JOBS]


def check_readme(subproject: Path) -> None:
    """Both checks of a subproject's README: its commands first, its Layout last and exact."""
    check_readme_commands(subproject)
    check_readme_layout(subproject)
