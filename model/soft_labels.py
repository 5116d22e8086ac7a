"""A teacher run's logits over a corpus, written for distillation (`training.distillation`).

Each row: `text`, `context` (the previous sentence of its article, "" for none; written whatever the
teacher reads, so that a student with or without `data.context` finds its rows) and `logits`
({label: raw logit}, before temperature and priors). A stance teacher reads each text with its target:
its rows carry `target` instead of `context`, and only labelled pairs (a target per row) are written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from stanceframe.atomic import check_new_file, staged_file
from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.model.files import PreviousSentences, _row_text
from stanceframe.records import RecordReader


@dataclass
class SoftLabelSummary:
    rows: int
    sources: dict[str, int]
    output: Path


def _source_path(source: str) -> str:
    if source.startswith("bundled:"):
        from stanceframe.data import bundled_path

        try:
            return str(bundled_path(source.removeprefix("bundled:")))
        except FileNotFoundError as error:
            raise DataError(str(error)) from None
    if not Path(source).is_file():
        raise DataError(f"{source}: file not found")
    return source


def write_soft_labels(
    teacher: Classifier,
    sources: list[str],
    output: Path,
    *,
    text_column: str = "text",
    article_column: str = "article",
    target_column: str = "target",
    batch_size: int = 32,
    overwrite: bool = False,
) -> SoftLabelSummary:
    """Label every row of `sources` with the teacher and write its logits to `output` (JSONL)."""
    if teacher.multi_label:
        raise DataError("soft labels are written for single-label runs")
    check_new_file(output, overwrite)
    second_field = target_column if teacher.needs_target else "context"
    keys: dict[tuple[str, str], None] = {}
    per_source: dict[str, int] = {}
    for source in sources:
        with RecordReader(_source_path(source)) as reader:
            rows = list(reader)
        texts = [_row_text(record, text_column).strip() for record in rows]
        if teacher.needs_target:
            seconds = [_target_of(record, target_column) for record in rows]
        else:
            seconds = [c or "" for c in PreviousSentences(article_column).contexts(rows, texts)]
        before = len(keys)
        for text, second in zip(texts, seconds, strict=True):
            keys.setdefault((text, second), None)
        per_source[source] = len(keys) - before
    texts = [text for text, _ in keys]
    seconds = [second for _, second in keys]
    if teacher.needs_target:
        logits = teacher.logits(texts, batch_size=batch_size, targets=seconds)
    else:
        logits = teacher.logits(texts, batch_size=batch_size, contexts=seconds)
    with staged_file(output) as out:
        for text, second, row in zip(texts, seconds, logits, strict=True):
            scores = {
                label: round(float(value), 5)
                for label, value in zip(teacher.labels, row, strict=True)
            }
            out.write(json.dumps({"text": text, second_field: second, "logits": scores}) + "\n")
    return SoftLabelSummary(len(texts), per_source, output)


def _target_of(record, target_column: str) -> str:
    target = record.fields.get(target_column)
    if not isinstance(target, str) or not target.strip():
        raise DataError(
            f"{record.location}: field {target_column!r} is missing or empty; a stance teacher "
            "labels sentence-target pairs (--target-column names the field)"
        )
    return target.strip()
