"""Write the annotation commands' record files: JSON Lines or CSV, by the output's extension,
staged beside the target and renamed into place only when complete."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from stanceframe import atomic
from stanceframe.atomic import staged_file
from stanceframe.errors import DataError

RECORD_FORMATS = {".jsonl": "jsonl", ".csv": "csv"}


def record_format(path: Path) -> str:
    """jsonl or csv, from the file name; anything else is an error before any work is done."""
    suffix = Path(path).suffix.lower()
    if suffix not in RECORD_FORMATS:
        raise DataError(f"{path}: name the output .jsonl or .csv (not {suffix or 'no extension'})")
    return RECORD_FORMATS[suffix]


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def write_records(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write `rows` to `path`; CSV columns are every row's fields in first-seen order, nested
    values as JSON. Returns how many rows were written."""
    rows = list(rows)
    file_format = record_format(path)
    with staged_file(Path(path)) as stream:
        if file_format == "jsonl":
            for row in rows:
                stream.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        else:
            columns = list(dict.fromkeys(name for row in rows for name in row))
            writer = csv.writer(stream)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(name)) for name in columns])
    return len(rows)


def write_json(path: Path, content: Any) -> None:
    """Annotation files hold dates and paths: written as text."""
    atomic.write_json(Path(path), content, default=str)
