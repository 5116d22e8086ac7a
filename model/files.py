"""Label a whole file (JSONL, CSV/TSV or plain text, or stdin) in chunks, writing the output atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stanceframe.errors import DataError, OutputExistsError, StanceframeError
from stanceframe.model.classifier import Classifier

INPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".tsv": "tsv", ".txt": "txt"}
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


def _records(
    stream: IO[str], input_format: str, source: str
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs; plain text gives one record per non-empty line."""
    if input_format in ("csv", "tsv"):
        reader = csv.DictReader(stream, delimiter="\t" if input_format == "tsv" else ",")
        for record in reader:
            if None in record:  # DictReader files surplus cells under the key None
                raise DataError(
                    f"{source} line {reader.line_num}: {len(record[None])} more cells than the "
                    f"header has columns ({len(reader.fieldnames or [])})"
                )
            yield reader.line_num, record
        return
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        if input_format == "txt":
            yield number, {"text": line.rstrip("\r\n")}
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


def _open_input(input_path: str) -> IO[str]:
    if input_path == "-":
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="strict", newline="")
    return open(input_path, encoding="utf-8-sig", errors="strict", newline="")  # noqa: SIM115


class _Progress:
    """A tqdm bar on stderr: rows, rows/s, and how far into the input file the reader is."""

    def __init__(self, enabled: bool, input_stream: IO[str], source: str):
        self.bar = None
        if not enabled:
            return
        from tqdm import tqdm

        self.buffer = getattr(input_stream, "buffer", None)
        self.size = os.fstat(input_stream.fileno()).st_size if source != "<stdin>" else 0
        self.bar = tqdm(
            desc=f"labelling {Path(source).name}", unit=" sentences", file=sys.stderr, smoothing=0.1
        )

    def update(self, rows: int) -> None:
        if self.bar is None:
            return
        self.bar.update(rows)
        if self.size and self.buffer is not None:
            # The text layer reads ahead, so this is where the reader is to within a few KiB.
            share = min(self.buffer.tell() / self.size, 1.0)
            self.bar.set_postfix_str(f"{share:.0%} of input", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class PreviousSentences:
    """For a context run: each row's previous sentence in its article, across chunks.

    Rows carrying an article id follow the row before them with the same id, in file order (an
    article's sentences are expected in reading order); rows without one are read alone.
    """

    def __init__(self, article_field: str):
        self.article_field = article_field
        self.last: dict[str, str] = {}

    def contexts(
        self, chunk: list[tuple[int, dict[str, Any]]], texts: list[str]
    ) -> list[str | None]:
        found: list[str | None] = []
        for (_, record), text in zip(chunk, texts, strict=True):
            article = record.get(self.article_field)
            if article is None or article == "":
                found.append(None)
                continue
            found.append(self.last.get(str(article)))
            self.last[str(article)] = text
        return found


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
    input_stream = _open_input(input_path)
    output_stream, partial_path = (
        (sys.stdout, None) if to_stdout else _open_partial(Path(output_path))
    )
    writer = _OutputWriter(output_stream, out_format, classifier.labels)
    bar = _Progress(progress, input_stream, source)
    previous = PreviousSentences(classifier.meta["input"].get("article_column") or "article")
    rows = 0
    last_line = 0
    try:
        for chunk in _chunks(_records(input_stream, in_format, source), chunk_size, source):
            last_line = chunk[-1][0]
            texts = [_row_text(record, text_field, source, number) for number, record in chunk]
            targets: list[str] | str | None = target
            if target_column:
                targets = [_row_text(record, target_column, source, n) for n, record in chunk]
            contexts = previous.contexts(chunk, texts) if classifier.context != "none" else None
            predictions = classifier.predict(
                texts, targets, batch_size=batch_size, contexts=contexts
            )
            for (_, record), prediction in zip(chunk, predictions, strict=True):
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
        if input_path != "-":
            input_stream.close()
    return FileSummary(rows=rows, output=output_path or "<stdout>", label_counts=label_counts)


def _chunks(
    records: Iterator[tuple[int, dict[str, Any]]], chunk_size: int, source: str
) -> Iterator[list[tuple[int, dict[str, Any]]]]:
    chunk: list[tuple[int, dict[str, Any]]] = []
    last_line = 0
    while True:
        try:
            item = next(records, None)
        except UnicodeDecodeError as error:
            raise DataError(
                f"{source} after line {last_line}: not valid UTF-8 ({error.reason})"
            ) from None
        except csv.Error as error:
            raise DataError(f"{source} after line {last_line}: bad CSV ({error})") from None
        if item is None:
            break
        chunk.append(item)
        last_line = item[0]
        if len(chunk) >= chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_sentences(
    classifier: Classifier,
    input_path: str,
    *,
    text_column: str = "text",
    input_format: str | None = None,
) -> tuple[list[str], list[str | None] | None]:
    """All texts of a sentence file (and, for a context run, each one's previous sentence)."""
    if input_path != "-" and not Path(input_path).is_file():
        raise DataError(f"{input_path}: file not found")
    source = "<stdin>" if input_path == "-" else input_path
    in_format = _format_for(
        input_path, INPUT_FORMATS, input_format, "jsonl" if input_path != "-" else "txt"
    )
    text_field = "text" if in_format == "txt" else text_column
    with _open_input(input_path) as stream:
        rows = list(_records(stream, in_format, source))
    if not rows:
        raise DataError(f"{source}: no rows")
    texts = [_row_text(record, text_field, source, number) for number, record in rows]
    if classifier.context == "none":
        return texts, None
    previous = PreviousSentences(classifier.meta["input"].get("article_column") or "article")
    return texts, previous.contexts(rows, texts)
