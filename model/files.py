"""Label a whole file (JSONL, CSV/TSV or plain text, or stdin) in chunks, writing the output atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import sys
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stanceframe.atomic import removed_on_sigterm
from stanceframe.errors import DataError, OutputExistsError, StanceframeError
from stanceframe.model.classifier import Classifier
from stanceframe.records import FORMATS, Record, RecordReader, source_name

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


def _output_format(output_path: str | None, given: str | None) -> str:
    if given or output_path in (None, "-"):
        return given or "jsonl"
    suffix = Path(output_path).suffix.lower()
    if suffix and suffix not in OUTPUT_FORMATS:
        # Writing JSONL into a file named .parquet (or .xlsx) would mislead whoever opens it.
        raise DataError(
            f"{output_path}: predict cannot write {suffix} files; name the output .jsonl or "
            ".csv, or say which with --output-format jsonl|csv"
        )
    return OUTPUT_FORMATS.get(suffix, "jsonl")


def _row_text(record: Record, column: str) -> str:
    value = record.fields.get(column)
    if not isinstance(value, str) or not value.strip():
        problem = "missing" if column not in record.fields else "empty or not text"
        raise DataError(f"{record.location}: field {column!r} is {problem}")
    return value


class _OutputWriter:
    """Each input record with its prediction added, as JSONL or CSV.

    Prediction fields are `label`, `score`, `scores`, `labels` (CSV: `label`, `score`,
    `score_<label>`), each after `prefix`; an input field of the same name is an error, never lost.
    CSV columns are the union of every row's fields; when a later row brings a new one, the file
    is rewritten at the end with the full header (standard output cannot be, so there it is an error).
    """

    def __init__(
        self,
        stream: IO[str],
        output_format: str,
        label_names: list[str],
        prefix: str = "",
        can_rewrite: bool = True,
    ):
        self.stream = stream
        self.output_format = output_format
        self.label_names = label_names
        self.prefix = prefix
        self.can_rewrite = can_rewrite
        names = (
            ["label", "score", "scores", "labels"]
            if output_format == "jsonl"
            else ["label", "score"] + [f"score_{label}" for label in label_names]
        )
        self.prediction_fields = [prefix + name for name in names]
        self.csv_writer = None
        self.columns: list[str] = []
        self.grown = False

    def check(self, record: Record) -> None:
        clash = next((name for name in self.prediction_fields if name in record.fields), None)
        if clash is not None:
            suggestion = f"pred_{self.prefix}" if self.prefix else "pred_"
            raise DataError(
                f"{record.location}: the input already has a field {clash!r}, which the "
                f"prediction would overwrite; pass --prefix {suggestion} to write the predictions "
                f"as {suggestion}label, {suggestion}score, ... beside it"
            )

    def _prediction_values(self, prediction) -> list[Any]:
        if self.output_format == "jsonl":
            return [prediction.label, prediction.score, prediction.scores, prediction.labels]
        scores = [round(prediction.scores[label], 6) for label in self.label_names]
        return [prediction.label, round(prediction.score, 6), *scores]

    def write(self, record: Record, prediction) -> None:
        row = dict(record.fields)
        row.update(zip(self.prediction_fields, self._prediction_values(prediction), strict=True))
        if self.output_format == "jsonl":
            self.stream.write(json.dumps(row, ensure_ascii=False) + "\n")
            return
        if self.csv_writer is None:
            self.columns = list(row)
            self.csv_writer = csv.writer(self.stream)
            self.csv_writer.writerow(self.columns)
        new = [name for name in row if name not in self.columns]
        if new:
            if not self.can_rewrite:
                raise DataError(
                    f"{record.location}: field {new[0]!r} is not among the earlier rows' fields; "
                    "CSV on standard output cannot add a column, so write to a file (-o out.csv, "
                    "whose header is then every row's fields) or write JSONL"
                )
            self.columns += new
            self.grown = True
        self.csv_writer.writerow([row.get(name, "") for name in self.columns])

    def rewrite_with_full_header(self, path: Path) -> None:
        """Give a CSV file whose columns grew the final header (input fields, then predictions)."""
        if not self.grown:
            return
        order = [name for name in self.columns if name not in self.prediction_fields]
        order += self.prediction_fields
        fixed, fixed_path = _open_partial(path)
        with removed_on_sigterm(fixed_path):
            try:
                with fixed, path.open(encoding="utf-8", newline="") as written:
                    rows = csv.reader(written)
                    next(rows)  # the header of the first row only
                    output = csv.writer(fixed)
                    output.writerow(order)
                    for cells in rows:
                        by_name = dict(zip(self.columns, cells, strict=False))
                        output.writerow([by_name.get(name, "") for name in order])
                os.replace(fixed_path, path)
            except BaseException:
                fixed_path.unlink(missing_ok=True)
                raise


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


class PreviousSentences:
    """For a context run: each row's previous sentence in its article, across chunks.

    Rows carrying an article id follow the row before them with the same id, in file order (an
    article's sentences are expected in reading order); rows without one are read alone.
    """

    def __init__(self, article_field: str):
        self.article_field = article_field
        self.last: dict[str, str] = {}

    def contexts(self, chunk: list[Record], texts: list[str]) -> list[str | None]:
        found: list[str | None] = []
        for record, text in zip(chunk, texts, strict=True):
            article = record.fields.get(self.article_field)
            if article is None or article == "":
                found.append(None)
                continue
            found.append(self.last.get(str(article)))
            self.last[str(article)] = text
        return found


def label_chunk(
    classifier: Classifier,
    chunk: list[Record],
    text_field: str,
    target_column: str | None,
    target: str | None,
    previous: PreviousSentences,
    batch_size: int,
):
    """Predictions for one chunk of records, in order (every engine of `predict` calls this)."""
    texts = [_row_text(record, text_field) for record in chunk]
    targets: list[str] | str | None = target
    if target_column:
        targets = [_row_text(record, target_column) for record in chunk]
    contexts = previous.contexts(chunk, texts) if classifier.context != "none" else None
    return classifier.predict(texts, targets, batch_size=batch_size, contexts=contexts)


def previous_for(classifier: Classifier) -> PreviousSentences:
    return PreviousSentences(classifier.run_meta.input.article_column or "article")


def predict_to_parquet(
    classifier: Classifier,
    input_path: str | Path,
    output_path: str | Path,
    *,
    text_column: str = "text",
    target_column: str | None = None,
    target: str | None = None,
    batch_size: int = 32,
    chunk_size: int = 4096,
    prefix: str = "",
) -> dict[str, Any]:
    """Label one shard into a Parquet file: its records with `label`, `score` and `score_<label>`
    (after `prefix`) added; what `predict --engine ray` runs for each shard."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    counts = dict.fromkeys(classifier.labels, 0)
    writer = _OutputWriter(io.StringIO(), "csv", classifier.labels, prefix)
    previous = previous_for(classifier)
    with RecordReader(input_path) as reader:
        text_field = "text" if reader.format == "txt" else text_column
        for chunk in _chunks(reader, chunk_size):
            for record in chunk:
                writer.check(record)
            predictions = label_chunk(
                classifier, chunk, text_field, target_column, target, previous, batch_size
            )
            for record, prediction in zip(chunk, predictions, strict=True):
                row = dict(record.fields)
                values = writer._prediction_values(prediction)
                row.update(zip(writer.prediction_fields, values, strict=True))
                rows.append(row)
                counts[prediction.label] += 1
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise DataError(
            f"{source_name(input_path)}: its fields do not fit one table ({error})"
        ) from None
    pq.write_table(table, output_path)
    return {"input": str(input_path), "output": str(output_path), "rows": len(rows), **counts}


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
    prefix: str = "",
) -> FileSummary:
    """Label every row of `input_path` ('-' = stdin) into `output_path` (None or '-' = stdout).

    Rows are read, labelled and written `chunk_size` at a time, so memory does not grow with the
    file. A file output is written to a hidden `.NAME.*.partial` file beside it and renamed only
    when complete; on any failure (or SIGTERM) that file is removed and the error says which line
    was reached. Prediction fields are named with `prefix` first; an input field of the same name
    is an error. `progress` shows a bar with sentences/s on stderr.
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
    out_format = _output_format(output_path, output_format)
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
    writer = _OutputWriter(
        output_stream, out_format, classifier.labels, prefix, can_rewrite=not to_stdout
    )
    bar = _Progress(progress, reader, source)
    previous = previous_for(classifier)
    rows = 0
    last_line = 0
    try:
        with removed_on_sigterm(partial_path) if partial_path else nullcontext():
            for chunk in _chunks(reader, chunk_size):
                last_line = chunk[-1].line
                for record in chunk:
                    writer.check(record)
                predictions = label_chunk(
                    classifier, chunk, text_field, target_column, target, previous, batch_size
                )
                for record, prediction in zip(chunk, predictions, strict=True):
                    writer.write(record, prediction)
                    label_counts[prediction.label] += 1
                rows += len(chunk)
                bar.update(len(chunk))
            if partial_path is not None:
                output_stream.close()
                writer.rewrite_with_full_header(partial_path)
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


def read_sentences(
    classifier: Classifier,
    input_path: str,
    *,
    text_column: str = "text",
    input_format: str | None = None,
) -> tuple[list[str], list[str | None] | None]:
    """All texts of a sentence file (and, for a context run, each one's previous sentence)."""
    in_format = _format_for(
        input_path, INPUT_FORMATS, input_format, "jsonl" if input_path != "-" else "txt"
    )
    text_field = "text" if in_format == "txt" else text_column
    with RecordReader(input_path, in_format) as reader:
        rows = list(reader)
    if not rows:
        raise DataError(f"{source_name(input_path)}: no rows")
    texts = [_row_text(record, text_field) for record in rows]
    if classifier.context == "none":
        return texts, None
    previous = previous_for(classifier)
    return texts, previous.contexts(rows, texts)
