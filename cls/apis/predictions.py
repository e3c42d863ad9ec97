"""The table `tools/predict.py --out` writes (CSV: one line per image and rank; JSON: one
object per image), read back so that a rerun with `--skip-existing` keeps the rows of the
images it lists and adds those of the others.

A row is `{"image": str, "topk": [{"class_id": int, "name": str, "probability": float}]}`.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hrformer_common.atomic import write_text_atomic

CSV_COLUMNS = ["image", "rank", "class_id", "name", "probability"]


def write_predictions(rows: list[dict], path: Path, replace: bool = True) -> None:
    """The rows as JSON, or as CSV with one line per image and rank; written atomically
    (`replace=False`: a file that appeared at `path` meanwhile is never replaced)."""
    if path.suffix.lower() == ".json":
        write_text_atomic(json.dumps(rows, indent=1), path, replace)
        return
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        for rank, top in enumerate(row["topk"], 1):
            writer.writerow([row["image"], rank, top["class_id"], top["name"],
                             f"{top['probability']:.6f}"])
    write_text_atomic(table.getvalue(), path, replace)


def _not_a_table(path: Path, why: str) -> ValueError:
    return ValueError(f"{path}: not a table of predict.py ({why}); give another --out or "
                      "--overwrite")


def _from_csv(path: Path, text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != CSV_COLUMNS:
        raise _not_a_table(path, f"columns {reader.fieldnames}, expected {CSV_COLUMNS}")
    rows: dict[str, dict] = {}
    for line, record in enumerate(reader, 2):
        try:
            top = {"class_id": int(record["class_id"]), "name": record["name"],
                   "probability": float(record["probability"])}
        except (TypeError, ValueError):
            raise _not_a_table(path, f"line {line}: class_id must be an integer and "
                                     "probability a number") from None
        rows.setdefault(record["image"], {"image": record["image"], "topk": []})["topk"] \
            .append(top)
    return list(rows.values())


def _from_json(path: Path, text: str) -> list[dict]:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as err:
        raise _not_a_table(path, f"invalid JSON: {err}") from None
    if not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get("image"), str)
            and isinstance(r.get("topk"), list) for r in rows):
        raise _not_a_table(path, 'expected a list of {"image": ..., "topk": [...]}')
    return rows


def read_predictions(path: Path) -> list[dict]:
    """The rows of a table `write_predictions` wrote; anything else is a ValueError naming
    the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _not_a_table(path, "not UTF-8 text") from None
    return _from_json(path, text) if path.suffix.lower() == ".json" else _from_csv(path, text)
