"""Reproduce a paper table from the released checkpoints: rows, command line and report.

Each task's `tools/reproduce_table.py` holds its table of
released rows and the function that evaluates one row through that task's own evaluation
code; this file does the rest:

    python tools/reproduce_table.py --checkpoints DIR --data ROOT [--rows NAME ...]
        [--json FILE] [--out FILE.md] [--work-dir DIR]

A row whose checkpoint file is in DIR is evaluated; the others are listed as missing, with
the link to download them. Metrics are percentages, as the paper prints them. Under torchrun
every process evaluates (the task's code shards the data) and rank 0 reports.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import torch.distributed as dist

from .atomic import write_text_atomic
from .dist import in_process_group, is_main_process


@dataclass(frozen=True)
class Row:
    """One released row of a paper table."""
    name: str                      # as the tables name it, e.g. "HRFormer-S 256x192"
    file: str                      # checkpoint file name expected in --checkpoints
    ckpt_link: str
    log_link: str
    paper: Mapping[str, float]     # metric -> the paper's value (percent), in table order
    settings: Mapping[str, Any] = field(default_factory=dict)   # task-specific (config, ...)


# (row, checkpoint path, data root, work dir of the row) -> {metric: measured percent}
Evaluate = Callable[[Row, Path, Path, Path], Mapping[str, float]]


def report(message: str) -> None:
    if is_main_process():
        print(message, flush=True)


def build_parser(description: str, rows: Sequence[Row], data_help: str,
                 work_dir: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--checkpoints", required=True, type=Path,
                        help="folder holding the released checkpoints under the listed names")
    parser.add_argument("--data", required=True, type=Path, help=data_help)
    parser.add_argument("--rows", nargs="+", metavar="NAME",
                        help="rows to evaluate (default: all): " + "; ".join(r.name for r in rows))
    parser.add_argument("--json", type=Path, help="write one object per row and metric")
    parser.add_argument("--out", type=Path, help="write the Markdown table")
    parser.add_argument("--work-dir", "--work_dir", dest="work_dir", type=Path,
                        default=Path(work_dir),
                        help="the evaluations' logs and outputs, one folder per row "
                             f"(default: {work_dir})")
    return parser


def select_rows(rows: Sequence[Row], names: Sequence[str] | None) -> list[Row]:
    if not names:
        return list(rows)
    by_name = {row.name: row for row in rows}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"unknown rows {unknown}; the rows are: "
                         + "; ".join(repr(r.name) for r in rows))
    return [by_name[name] for name in names]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else repr(err)}"


def evaluate_row(row: Row, path: Path, data: Path, evaluate: Evaluate,
                 work_dir: Path) -> tuple[Mapping[str, float], str | None]:
    """(measured metrics, None), or ({}, the error) when this row's evaluation fails: a bad
    file fails its own row only."""
    try:
        measured = evaluate(row, path, data, work_dir / Path(row.file).stem)
    except Exception as err:  # any failure of this row; the other rows still run
        return {}, _first_line(err)
    except SystemExit as err:  # a task's command line that exits on bad input
        return {}, f"exited with status {err.code}"
    missing = [metric for metric in row.paper if metric not in measured]
    if missing:
        return {}, f"the evaluation gave no {missing} (it gave {sorted(measured)})"
    return measured, None


def reproduce(rows: Sequence[Row], checkpoints: Path, data: Path, evaluate: Evaluate,
              work_dir: Path, on_row: Callable[[list[dict]], None] = lambda records: None
              ) -> list[dict]:
    """Evaluate every row whose file is in `checkpoints`; one record per row and metric.
    A row whose evaluation fails is recorded with its error (`"error"`) and the next row
    runs; `on_row(records so far)` is called after each row."""
    if not checkpoints.is_dir():
        raise FileNotFoundError(f"--checkpoints folder {checkpoints} does not exist")
    present = {row.name: checkpoints / row.file for row in rows
               if (checkpoints / row.file).is_file()}
    if present and not data.is_dir():
        raise FileNotFoundError(f"--data folder {data} does not exist")
    records: list[dict] = []
    for index, row in enumerate(rows, 1):
        path = present.get(row.name)
        measured: Mapping[str, float] = {}
        error = None
        if path is None:
            report(f"[{index}/{len(rows)}] {row.name}: missing {checkpoints / row.file} "
                   f"(download: {row.ckpt_link})")
        else:
            report(f"[{index}/{len(rows)}] {row.name}: evaluating {path}")
            measured, error = evaluate_row(row, path, data, evaluate, work_dir)
            report(f"[{index}/{len(rows)}] {row.name}: " + (f"FAILED: {error}" if error else
                   ", ".join(f"{metric} {measured[metric]:.2f} (paper {paper})"
                             for metric, paper in row.paper.items())))
        for metric, paper in row.paper.items():
            value = measured.get(metric)
            records.append({"row": row.name, "metric": metric, "paper": float(paper),
                            "measured": None if value is None else float(value),
                            "error": error, "file": row.file, "link": row.ckpt_link})
        on_row(records)
    return records


def markdown(records: Sequence[dict]) -> str:
    lines = ["| row | metric | paper | measured | delta | file |", "|---|---|---|---|---|---|"]
    for r in records:
        if r.get("error"):
            measured, delta = f"FAILED: {r['error'].replace('|', '/')}", ""
        elif r["measured"] is None:
            measured, delta = f"missing ([download]({r['link']}))", ""
        else:
            measured, delta = f"{r['measured']:.2f}", f"{r['measured'] - r['paper']:+.2f}"
        lines.append(f"| {r['row']} | {r['metric']} | {r['paper']:.1f} | {measured} | {delta} "
                     f"| `{r['file']}` |")
    return "\n".join(lines) + "\n"


def failed_rows(records: Sequence[dict]) -> list[str]:
    """The rows whose evaluation failed, in table order."""
    return list(dict.fromkeys(r["row"] for r in records if r.get("error")))


@dataclass(frozen=True)
class Tool:
    """One task's reproduce-the-table command: its released rows, how a row is evaluated,
    what --data is, and where the evaluations write by default."""
    description: str
    rows: Sequence[Row]
    evaluate: Evaluate
    data_help: str
    work_dir: str

    def run(self, argv: Sequence[str] | None = None) -> list[dict]:
        """Parse, evaluate, report; the table and JSON are rewritten after every row, so a
        failed or interrupted run keeps what it measured. The process group the evaluations
        joined is closed at the end."""
        args = build_parser(self.description, self.rows, self.data_help,
                            self.work_dir).parse_args(argv)

        def write(records: list[dict]) -> None:
            if not is_main_process():
                return
            if args.out:
                write_text_atomic(markdown(records), args.out)
            if args.json:
                write_text_atomic(json.dumps(records, indent=1) + "\n", args.json)

        try:
            records = reproduce(select_rows(self.rows, args.rows), args.checkpoints, args.data,
                                self.evaluate, args.work_dir, on_row=write)
        finally:
            if in_process_group():
                dist.destroy_process_group()
        if is_main_process():
            print(markdown(records), end="")
        return records

    def cli(self) -> None:
        """`run` for `python tools/reproduce_table.py`: bad input exits 2 with its message;
        when a row failed, the status is 1 (after every other row ran and was written)."""
        try:
            records = self.run()
        except (FileNotFoundError, ValueError) as err:
            print(f"reproduce_table.py: {err}", file=sys.stderr)
            sys.exit(2)
        failed = failed_rows(records)
        if failed:
            print(f"reproduce_table.py: {len(failed)} row(s) failed: {', '.join(failed)} "
                  "(see the table)", file=sys.stderr)
            sys.exit(1)
