"""One strict, streaming reader for every record file stanceframe takes: CSV, TSV, JSONL, Parquet,
plain text (a record a line) or standard input, each record with the file and line it came from.

Strict means nothing is misread silently: a header naming a column twice, a row with more or fewer
cells than the header, a JSON object with a key twice, or bytes that are not UTF-8 are errors that
name the file and line.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from stanceframe.errors import DataError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".txt": "txt",
}
STDIN = "-"
STDIN_NAME = "<stdin>"
TEXT_FIELD = "text"  # the one field of a plain-text record
_BOM = b"\xef\xbb\xbf"
SHARD_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".parquet")  # what a folder is searched for
_GLOB_CHARACTERS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Record:
    fields: dict[str, Any]
    source: str  # the file as it was named, or <stdin>
    line: int  # where the record starts; for Parquet, its row number
    unit: str = "line"

    @property
    def location(self) -> str:
        """'data/train.csv line 412', for error messages."""
        return f"{self.source} {self.unit} {self.line}"


def format_of(path: str | Path) -> str | None:
    """The format a file name's extension says, or None when it says none stanceframe reads."""
    return FORMATS.get(Path(str(path)).suffix.lower())


def source_name(path: str | Path) -> str:
    return STDIN_NAME if str(path) == STDIN else str(path)


def _not_utf8(source: str, line: int, byte: int, offset: int) -> DataError:
    return DataError(
        f"{source} line {line}: the file is not valid UTF-8 (byte 0x{byte:02x} at offset "
        f"{offset}); re-save it as UTF-8"
    )


def _open_binary(path: str | Path) -> IO[bytes]:
    if str(path) == STDIN:
        return sys.stdin.buffer
    try:
        return open(path, "rb")  # noqa: SIM115 - closed by RecordReader.close
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror})") from None


def read_text(path: str | Path) -> str:
    """A whole file (or stdin) as one string; \\r\\n is kept, a UTF-8 byte-order mark dropped."""
    stream = _open_binary(path)
    try:
        raw = stream.read()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    return decode_text(raw, source_name(path))


def decode_text(raw: bytes, source: str) -> str:
    """Bytes as read_text reads a file: UTF-8, a byte-order mark dropped; `source` names them in
    the error."""
    start = len(_BOM) if raw.startswith(_BOM) else 0
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        raise _not_utf8(source, raw[:offset].count(b"\n") + 1, raw[offset], offset) from None


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return record


class RecordReader:
    """Iterate over the records of one file, reading it as it goes (memory does not grow with it).

    `bytes_read` and `size` say how far it is, for a progress bar. Use it as a context manager, or
    call `close()`; standard input is never closed.
    """

    def __init__(
        self, path: str | Path, file_format: str | None = None, *, stream: IO[bytes] | None = None
    ):
        """`stream`, when given, holds the bytes (an upload, kept in memory); `path` then only names
        them, for the format and for messages."""
        self.source = source_name(path)
        self.format = file_format or format_of(path)
        if self.format not in set(FORMATS.values()):
            suffix = Path(str(path)).suffix
            raise DataError(
                f"{self.source}: unknown file type {suffix or file_format!r}; use one of "
                f"{', '.join(FORMATS)}"
            )
        self._stream = stream if stream is not None else _open_binary(path)
        self.bytes_read = 0
        try:
            self.size = os.fstat(self._stream.fileno()).st_size if str(path) != STDIN else 0
        except (OSError, io.UnsupportedOperation):
            self.size = 0

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()

    def __iter__(self) -> Iterator[Record]:
        if self.format == "parquet":
            return self._parquet()
        if self.format in ("csv", "tsv"):
            return self._csv("\t" if self.format == "tsv" else ",")
        return self._jsonl() if self.format == "jsonl" else self._txt()

    # ---------------------------------------------------------------- line-based formats

    def _lines(self) -> Iterator[tuple[int, str]]:
        """(line number, text) per physical line; decoding line by line keeps errors exact."""
        for number, raw in enumerate(self._stream, start=1):
            start = len(_BOM) if number == 1 and raw.startswith(_BOM) else 0
            try:
                text = raw[start:].decode("utf-8")
            except UnicodeDecodeError as error:
                offset = self.bytes_read + start + error.start
                raise _not_utf8(self.source, number, raw[start + error.start], offset) from None
            self.bytes_read += len(raw)
            yield number, text

    def _txt(self) -> Iterator[Record]:
        for number, text in self._lines():
            if text.strip():
                yield Record({TEXT_FIELD: text.rstrip("\r\n")}, self.source, number)

    def _jsonl(self) -> Iterator[Record]:
        for number, text in self._lines():
            if not text.strip():
                continue
            where = f"{self.source} line {number}"
            try:
                fields = json.loads(text, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError as error:
                raise DataError(f"{where}: not valid JSON ({error.msg})") from None
            except _DuplicateKey as duplicate:
                raise DataError(
                    f"{where}: field {duplicate.key!r} appears twice in the object"
                ) from None
            if not isinstance(fields, dict):
                raise DataError(f"{where}: expected a JSON object")
            yield Record(fields, self.source, number)

    def _csv(self, delimiter: str) -> Iterator[Record]:
        # One physical line per item, so the reader's line_num is the file's line number.
        reader = csv.reader((text for _, text in self._lines()), delimiter=delimiter)
        header: list[str] | None = None
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader, None)
            except csv.Error as error:
                raise DataError(
                    f"{self.source} line {reader.line_num}: malformed CSV ({error})"
                ) from None
            if row is None:
                break
            if not row:  # a blank line
                continue
            if header is None:
                header = self._check_header(row, start)
                continue
            if len(row) != len(header):
                if len(row) > len(header):
                    problem = f"{len(row) - len(header)} more cells than the header has columns"
                else:
                    problem = f"{len(header) - len(row)} fewer cells than the header has columns"
                raise DataError(f"{self.source} line {start}: {problem} ({len(header)})")
            yield Record(dict(zip(header, row, strict=True)), self.source, start)
        if header is None:
            raise DataError(f"{self.source}: the file is empty (no header row)")

    def _check_header(self, header: list[str], line: int) -> list[str]:
        first_seen: dict[str, int] = {}
        for position, name in enumerate(header, start=1):
            if name in first_seen:
                raise DataError(
                    f"{self.source} line {line}: column {name!r} appears twice in the header "
                    f"(columns {first_seen[name]} and {position})"
                )
            first_seen[name] = position
        return header

    # ---------------------------------------------------------------- Parquet

    def _parquet(self) -> Iterator[Record]:
        import pyarrow.parquet as pq

        # Parquet needs to seek; standard input is read into memory first.
        stream = (
            self._stream
            if self._stream is not sys.stdin.buffer
            else io.BytesIO(self._stream.read())
        )
        try:
            parquet = pq.ParquetFile(stream)
        except Exception as error:  # pyarrow raises several types for a corrupt file
            raise DataError(f"{self.source}: cannot read as Parquet ({error})") from error
        names = parquet.schema_arrow.names
        for position, name in enumerate(names):
            if name in names[:position]:
                raise DataError(f"{self.source}: column {name!r} appears twice")
        total = max(parquet.metadata.num_rows, 1)
        row = 0
        try:
            for batch in parquet.iter_batches():
                for fields in batch.to_pylist():
                    row += 1
                    self.bytes_read = self.size * row // total
                    yield Record(fields, self.source, row, "row")
        except (OSError, ValueError) as error:  # pyarrow's errors derive from these
            raise DataError(
                f"{self.source} after row {row}: cannot read as Parquet ({error})"
            ) from error


def folder_files(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """The files under `folder` with one of `suffixes`, sorted; hidden files and folders left out."""
    return sorted(
        file
        for file in folder.rglob("*")
        if file.is_file()
        and file.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in file.relative_to(folder).parts)
    )


def record_files(paths: Sequence[str | Path]) -> list[Path]:
    """Files, folders (their .jsonl/.json/.csv/.tsv/.parquet shards, hidden ones left out) and
    glob patterns, in order, each file once."""
    found: list[Path] = []
    for given in paths:
        text = str(given)
        path = Path(text)
        if path.is_dir():
            shards = folder_files(path, SHARD_SUFFIXES)
            if not shards:
                raise DataError(f"{path}: folder holds no {', '.join(SHARD_SUFFIXES)} files")
            found += shards
        elif path.is_file():
            if format_of(path) is None:
                raise DataError(
                    f"{path}: give records as {', '.join(SHARD_SUFFIXES)} files, folders of "
                    "them, or a glob pattern"
                )
            found.append(path)
        elif _GLOB_CHARACTERS.search(text):
            matches = sorted(Path(match) for match in glob.glob(text, recursive=True))
            matches = [match for match in matches if match.is_file()]
            if not matches:
                raise DataError(f"{text}: the pattern matches no file")
            found += matches
        else:
            raise DataError(f"{text}: no such file or folder")
    unique: dict[Path, None] = {}
    for file in found:
        unique.setdefault(file, None)
    return list(unique)
