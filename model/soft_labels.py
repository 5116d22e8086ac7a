"""A teacher run's logits over a corpus, written for distillation (`training.distillation`).

Each row: `text`, `context` (the previous sentence of its article, "" for none; written whatever the
teacher reads, so that a student with or without `data.context` finds its rows) and `logits`
({label: raw logit}, before temperature and priors).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from stanceframe.atomic import removed_on_sigterm
from stanceframe.errors import DataError, OutputExistsError
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
    batch_size: int = 32,
    overwrite: bool = False,
) -> SoftLabelSummary:
    """Label every row of `sources` with the teacher and write its logits to `output` (JSONL)."""
    if teacher.needs_target or teacher.multi_label:
        raise DataError("soft labels are written for single-label runs that read text alone")
    if output.exists() and not overwrite:
        raise OutputExistsError(f"{output}: exists; pass --overwrite to replace it")
    keys: dict[tuple[str, str], None] = {}
    per_source: dict[str, int] = {}
    for source in sources:
        with RecordReader(_source_path(source)) as reader:
            rows = list(reader)
        texts = [_row_text(record, text_column).strip() for record in rows]
        contexts = PreviousSentences(article_column).contexts(rows, texts)
        before = len(keys)
        for text, context in zip(texts, contexts, strict=True):
            keys.setdefault((text, context or ""), None)
        per_source[source] = len(keys) - before
    texts = [text for text, _ in keys]
    contexts = [context for _, context in keys]
    logits = teacher.logits(texts, batch_size=batch_size, contexts=contexts)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    try:
        with removed_on_sigterm(partial), partial.open("w", encoding="utf-8") as out:
            for text, context, row in zip(texts, contexts, logits, strict=True):
                scores = {
                    label: round(float(value), 5)
                    for label, value in zip(teacher.labels, row, strict=True)
                }
                out.write(json.dumps({"text": text, "context": context, "logits": scores}) + "\n")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return SoftLabelSummary(len(texts), per_source, output)
