"""Label a whole file (JSONL, CSV/TSV or plain text, or stdin) in chunks, writing the output atomically."""

from __future__ import annotations

import csv
import json
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stanceframe.errors import DataError, OutputExistsError, StanceframeError
from stanceframe.model.classifier import Classifier
from stanceframe.records import FORMATS, Record, RecordReader

INPUT_FORMATS = FORMATS
OUTPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv"}


class PredictionInterrupted(StanceframeError):
    """Labelling a file was stopped (Ctrl-C) before the end; no output file was written."""


@dataclass
class FileSummary:
    rows: int
    output: str
    label_counts: dict[str, int]


def _format_for(path: str, formats: dict[str, str], given: str | None, default: str) -> str:
    if given:
        return given
    return formats.get(Path(path).suffix.lower(), default)


def _row_text(record: Record, column: str) -> str:
    value = record.fields.get(column)
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if column not in record.fields else "empty or not text"
        raise DataError(f"{record.location}: field {column!r} is {problem}")
    return value


class _OutputWriter:
    def __init__(self, stream: IO[str], output_format: str, label_names: list[str]):
        self.stream = stream
        self.output_format = output_format
        self.label_names = label_names
        self.csv_writer: csv.DictWriter | None = None

    def write(self, record: Record, prediction) -> None:
        if self.output_format == "jsonl":
            row = {**record.fields, **prediction.to_dict()}
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        row = {**record.fields, "label": prediction.label, "score": round(prediction.score, 6)}
        row.update(
            {f"score_{label}": round(prediction.scores[label], 6) for label in self.label_names}
        )
        if self.csv_writer is None:
            self.csv_writer = csv.DictWriter(
                self.stream, fieldnames=list(row), extrasaction="ignore"
            )
            self.csv_writer.writeheader()
        self.csv_writer.writerow(row)


def _open_partial(out_path: Path) -> tuple[IO[str], Path]:
    """A new hidden file beside the output, created with the usual permissions (umask applies)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        partial = out_path.with_name(f".{out_path.name}.{secrets.token_hex(4)}.partial")
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        return os.fdopen(descriptor, "w", encoding="utf-8", newline=""), partial


class _Progress:
    """A tqdm bar on stderr: rows, rows/s, and how far into the input file the reader is."""

    def __init__(self, enabled: bool, reader: RecordReader, source: str):
        self.bar = None
        if not enabled:
            return
        from tqdm import tqdm

        self.reader = reader
        self.bar = tqdm(
            desc=f"labelling {Path(source).name}", unit=" sentences", file=sys.stderr, smoothing=0.1
        )

    def update(self, rows: int) -> None:
        if self.bar is None:
            return
        self.bar.update(rows)
        if self.reader.size:
            share = min(self.reader.bytes_read / self.reader.size, 1.0)
            self.bar.set_postfix_str(f"{share:.0%} of input", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    chunk_size: int = 4096,
    overwrite: bool = False,
    progress: bool = False,
) -> FileSummary:
    """Label every row of `input_path` ('-' = stdin) into `output_path` (None or '-' = stdout).

    Rows are read, labelled and written `chunk_size` at a time, so memory does not grow with the
    file. A file output is written to a hidden `.NAME.*.partial` file beside it and renamed only
    when complete; on any failure that file is removed and the error says which line was reached.
    `progress` shows a bar with sentences/s on stderr.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    to_stdout = output_path in (None, "-")
    if not to_stdout and Path(output_path).exists() and not overwrite:
        raise OutputExistsError(f"{output_path}: exists; pass --overwrite to replace it")
    source = "<stdin>" if input_path == "-" else input_path
    in_format = _format_for(
        input_path, INPUT_FORMATS, input_format, "jsonl" if input_path != "-" else "txt"
    )
    out_format = _format_for(output_path or "-", OUTPUT_FORMATS, output_format, "jsonl")
    for name, value, known in (
        ("input format", in_format, INPUT_FORMATS.values()),
        ("output format", out_format, OUTPUT_FORMATS.values()),
    ):
        if value not in known:
            raise DataError(f"{name} {value!r} is not one of {', '.join(sorted(set(known)))}")
    if input_path != "-" and not Path(input_path).is_file():
        raise DataError(f"{input_path}: file not found")
    text_field = "text" if in_format == "txt" else text_column

    label_counts = dict.fromkeys(classifier.labels, 0)
    reader = RecordReader(input_path, in_format)
    output_stream, partial_path = (
        (sys.stdout, None) if to_stdout else _open_partial(Path(output_path))
    )
    writer = _OutputWriter(output_stream, out_format, classifier.labels)
    bar = _Progress(progress, reader, source)
    rows = 0
    last_line = 0
    try:
        for chunk in _chunks(reader, chunk_size):
            last_line = chunk[-1].line
            texts = [_row_text(record, text_field) for record in chunk]
            targets: list[str] | str | None = target
            if target_column:
                targets = [_row_text(record, target_column) for record in chunk]
            predictions = classifier.predict(texts, targets, batch_size=batch_size)
            for record, prediction in zip(chunk, predictions, strict=True):
                writer.write(record, prediction)
                label_counts[prediction.label] += 1
            rows += len(chunk)
            bar.update(len(chunk))
        if partial_path is not None:
            output_stream.close()
            os.replace(partial_path, output_path)
            partial_path = None
    except BaseException as error:
        if partial_path is not None:
            output_stream.close()
            partial_path.unlink(missing_ok=True)
        reached = f"{source} read up to line {last_line}" if last_line else f"{source} unread"
        not_written = "" if to_stdout else f"; {output_path} was not written"
        if isinstance(error, KeyboardInterrupt):
            raise PredictionInterrupted(
                f"interrupted with {reached}, {rows} rows labelled{not_written}"
            ) from None
        if isinstance(error, ValueError) and not isinstance(error, DataError):
            raise DataError(f"{source} near line {last_line}: {error}") from error
        if isinstance(error, Exception) and not isinstance(error, DataError):
            error.add_note(f"raised with {reached}, {rows} rows labelled{not_written}")
        raise
    finally:
        bar.close()
        reader.close()
    return FileSummary(rows=rows, output=output_path or "<stdout>", label_counts=label_counts)


def _chunks(records: Iterable[Record], chunk_size: int) -> Iterator[list[Record]]:
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
