"""The records to annotate, read once: every field kept, the texts (with targets and previous
sentences where the run reads them), and one id per record, taken from the file or generated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.model.files import PreviousSentences, _row_text
from stanceframe.records import Record, RecordReader, format_of, source_name


@dataclass
class Pool:
    source: str
    records: list[Record]
    ids: list[str]
    texts: list[str]
    targets: list[str] | None
    contexts: list[str | None] | None
    id_field: str
    generated_ids: int  # records that had no id and were given one from their line number

    def __len__(self) -> int:
        return len(self.records)

    def fields(self, index: int) -> dict:
        """The record's fields, with its id (generated ones included) in `id_field`."""
        fields = dict(self.records[index].fields)
        if self.generated_ids:
            fields[self.id_field] = self.ids[index]
        return fields


def _assign_ids(
    records: list[Record], id_field: str, require_ids: bool, source: str
) -> tuple[list[str], bool]:
    """The file's ids (all records have one, none twice), or `<file stem>:<line>` for each."""
    having = [record for record in records if record.fields.get(id_field) not in (None, "")]
    if not having:
        if require_ids:
            raise DataError(
                f"{source}: no record has an {id_field!r} field, and --require-ids is set; "
                f"add one, or name the id field with --id-field"
            )
        stem = "stdin" if source == "<stdin>" else Path(source).stem
        return [f"{stem}:{record.line}" for record in records], True
    if len(having) != len(records):
        missing = next(record for record in records if record.fields.get(id_field) in (None, ""))
        raise DataError(
            f"{missing.location}: field {id_field!r} is missing or empty, while other records "
            f"have one (first at line {having[0].line}); give every record an id, or none"
        )
    first_seen: dict[str, Record] = {}
    ids = []
    for record in records:
        value = record.fields[id_field]
        if isinstance(value, (dict, list, bool)):
            raise DataError(f"{record.location}: field {id_field!r} must be a string or a number")
        key = str(value)
        if key in first_seen:
            raise DataError(
                f"{record.location}: {id_field} {key!r} is already the id of line "
                f"{first_seen[key].line}; ids must be unique"
            )
        first_seen[key] = record
        ids.append(key)
    return ids, False


def read_pool(
    classifier: Classifier,
    path: str,
    *,
    text_column: str = "text",
    target_column: str | None = None,
    target: str | None = None,
    id_field: str = "id",
    require_ids: bool = False,
) -> Pool:
    """Read `path` (JSONL, CSV, TSV, Parquet, .txt, or - for stdin) for `classifier`.

    A stance run takes each row's target from `target_column` (default: the run's own target
    column) or one `target` for all rows; a context run reads each row after the one before it
    with the same article id.
    """
    source = source_name(path)
    file_format = format_of(path) if path != "-" else "jsonl"
    with RecordReader(path, file_format) as reader:
        records = list(reader)
    if not records:
        raise DataError(f"{source}: no rows")
    text_field = "text" if file_format == "txt" else text_column
    texts = [_row_text(record, text_field) for record in records]
    targets = None
    if classifier.needs_target:
        if target is not None:
            targets = [target] * len(records)
        else:
            column = target_column or classifier.run_meta.input.target_column
            targets = [_row_text(record, column) for record in records]
    elif target is not None or target_column is not None:
        raise DataError(
            f"{classifier.run_dir} labels texts on their own (it was trained without targets); "
            "leave out --target and --target-column"
        )
    contexts = None
    if classifier.context != "none":
        article_field = classifier.run_meta.input.article_column or "article"
        contexts = PreviousSentences(article_field).contexts(records, texts)
    ids, generated = _assign_ids(records, id_field, require_ids, source)
    return Pool(
        source, records, ids, texts, targets, contexts, id_field, len(records) if generated else 0
    )
