"""Label a whole file (JSONL, CSV/TSV or plain text, or stdin) in chunks, writing the output atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stanceframe.errors import DataError, OutputExistsError
from stanceframe.model.classifier import Classifier

INPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
OUTPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


@dataclass
class FileSummary:
    rows: int
    output: str
    label_counts: dict[str, int]


def _format_for(path: str, formats: dict[str, str], given: str | None, default: str) -> str:
    if given:
        return given
    return formats.get(Path(path).suffix.lower(), default)


def _records(
    stream: IO[str], input_format: str, source: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs; plain text gives one record per non-empty line."""
    if input_format in ("csv", "tsv"):
        reader = csv.DictReader(stream, delimiter="\t" if input_format == "tsv" else ",")
        for record in reader:
            yield reader.line_num, record
        return
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        if input_format == "txt":
            yield number, {"text": line.rstrip("\n")}
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"{source} line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise DataError(f"{source} line {number}: expected a JSON object")
        yield number, record


def _row_text(record: dict[str, Any], column: str, source: str, number: int) -> str:
    value = record.get(column)
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if column not in record else "empty or not text"
        raise DataError(f"{source} line {number}: field {column!r} is {problem}")
    return value


class _OutputWriter:
    def __init__(self, stream: IO[str], output_format: str, label_names: list[str]):
        self.stream = stream
        self.output_format = output_format
        self.label_names = label_names
        self.csv_writer: csv.DictWriter | None = None

    def write(self, record: dict[str, Any], prediction) -> None:
        if self.output_format == "jsonl":
            row = {**record, **prediction.to_dict()}
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        row = {**record, "label": prediction.label, "score": round(prediction.score, 6)}
        row.update(
            {f"score_{label}": round(prediction.scores[label], 6) for label in self.label_names}
        )
        if self.csv_writer is None:
            self.csv_writer = csv.DictWriter(
                self.stream, fieldnames=list(row), extrasaction="ignore"
            )
            self.csv_writer.writeheader()
        self.csv_writer.writerow(row)


def predict_file(
    classifier: Classifier,
    input_path: str,
    output_path: str | None,
    *,
    text_column: str = "text",
    target_column: str | None = None,
    target: str | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    batch_size: int = 32,
    chunk_size: int = 2048,
    overwrite: bool = False,
    progress=None,
) -> FileSummary:
    """Label every row of `input_path` ('-' = stdin) into `output_path` (None or '-' = stdout).

    A file output is written to a temporary file beside it and renamed only when complete.
    """
    to_stdout = output_path in (None, "-")
    if not to_stdout and Path(output_path).exists() and not overwrite:
        raise OutputExistsError(f"{output_path}: exists; pass --overwrite to replace it")
    source = "<stdin>" if input_path == "-" else input_path
    in_format = _format_for(
        input_path, INPUT_FORMATS, input_format, "jsonl" if input_path != "-" else "txt"
    )
    out_format = _format_for(output_path or "-", OUTPUT_FORMATS, output_format, "jsonl")
    if input_path != "-" and not Path(input_path).is_file():
        raise DataError(f"{input_path}: file not found")

    label_counts = dict.fromkeys(classifier.labels, 0)
    if to_stdout:
        output_stream, temporary_path = sys.stdout, None
    else:
        out_path = Path(output_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary_path = tempfile.mkstemp(
            prefix=f".{out_path.name}.", suffix=".partial", dir=out_path.parent
        )
        output_stream = os.fdopen(handle, "w", encoding="utf-8", newline="")
    input_stream = (
        io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict")
        if input_path == "-"
        else open(input_path, encoding="utf-8", errors="strict", newline="")  # noqa: SIM115
    )
    writer = _OutputWriter(output_stream, out_format, classifier.labels)
    rows = 0
    last_line = 0
    try:
        chunk: list[tuple[int, dict[str, Any]]] = []
        records = _records(input_stream, in_format, source)
        while True:
            try:
                item = next(records, None)
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{source} after line {last_line}: not valid UTF-8 ({error.reason})"
                ) from None
            if item is not None:
                chunk.append(item)
                last_line = item[0]
            if chunk and (item is None or len(chunk) >= chunk_size):
                texts = [
                    _row_text(record, text_column if in_format != "txt" else "text", source, number)
                    for number, record in chunk
                ]
                targets = target
                if target_column:
                    targets = [
                        _row_text(record, target_column, source, number) for number, record in chunk
                    ]
                for (_, record), prediction in zip(
                    chunk, classifier.predict(texts, targets, batch_size=batch_size), strict=True
                ):
                    writer.write(record, prediction)
                    label_counts[prediction.label] += 1
                rows += len(chunk)
                if progress is not None:
                    progress(len(chunk))
                chunk = []
            if item is None:
                break
        if temporary_path is not None:
            output_stream.close()
            os.replace(temporary_path, output_path)
            temporary_path = None
    except BaseException as error:
        if temporary_path is not None:
            output_stream.close()
            os.unlink(temporary_path)
        if isinstance(error, ValueError) and not isinstance(error, DataError):
            raise DataError(f"{source} near line {last_line}: {error}") from error
        raise
    finally:
        if input_path != "-":
            input_stream.close()
    return FileSummary(rows=rows, output=output_path or "<stdout>", label_counts=label_counts)
