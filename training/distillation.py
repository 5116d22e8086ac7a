"""A teacher's soft labels for distillation: read them, match them to train, add unlabelled rows.

The file is JSON Lines written by `stanceframe soft-labels TEACHER_RUN ...`: one row per text with
`text`, `context` ("" when the text was read alone) and `logits` ({label: teacher logit}); a stance
teacher's rows carry `target` instead of `context` (the second segment of the pair).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stanceframe.errors import DataError
from stanceframe.training.data import LoadedData, Split, read_records

if TYPE_CHECKING:
    from stanceframe.training.config import RunConfig

logger = logging.getLogger(__name__)
IGNORED_LABEL = -100  # cross_entropy's ignore_index: unlabelled rows learn from the teacher only


@dataclass
class UnlabelledRow:
    text: str
    context: str
    logits: list[float]


@dataclass
class SoftLabels:
    """Teacher logits per (text, second segment: context or target), in the run's label order."""

    source: str
    by_key: dict[tuple[str, str], list[float]]
    unlabelled: list[UnlabelledRow] = field(default_factory=list)
    matched_train_rows: int = 0
    train_rows: int = 0

    def add_columns(self, columns: dict[str, list], split: Split, n_labels: int) -> None:
        """Add teacher_logits/teacher_mask for the split's rows, then the unlabelled rows."""
        seconds = columns.get("second")
        logits, mask = [], []
        for index, text in enumerate(columns["text"]):
            key = (text, seconds[index] if seconds is not None else "")
            found = self.by_key.get(key)
            logits.append(found if found is not None else [0.0] * n_labels)
            mask.append(1.0 if found is not None else 0.0)
        self.matched_train_rows = int(sum(mask))
        self.train_rows = len(mask)
        for row in self.unlabelled:
            columns["text"].append(row.text)
            if seconds is not None:
                seconds.append(row.context)
            columns["labels"].append(IGNORED_LABEL)
            logits.append(row.logits)
            mask.append(1.0)
        columns["teacher_logits"] = logits
        columns["teacher_mask"] = mask
        if self.matched_train_rows < self.train_rows:
            logger.warning(
                "%s: no soft label for %d of %d training rows (they learn from gold labels only)",
                self.source,
                self.train_rows - self.matched_train_rows,
                self.train_rows,
            )

    def summary(self) -> dict[str, Any]:
        return {
            "soft_label_rows": len(self.by_key),
            "matched_train_rows": self.matched_train_rows,
            "train_rows": self.train_rows,
            "unlabelled_rows": len(self.unlabelled),
        }


def _row_logits(record: dict[str, Any], label_names: list[str], location: str) -> list[float]:
    logits = record.get("logits")
    if not isinstance(logits, dict):
        raise DataError(f"{location}: field 'logits' must map each label to the teacher's logit")
    missing = [label for label in label_names if label not in logits]
    if missing:
        raise DataError(
            f"{location}: field 'logits' lacks {', '.join(missing)}; the teacher must have the "
            f"run's labels ({', '.join(label_names)}); --set training.distillation=null trains "
            "without a teacher"
        )
    try:
        return [float(logits[label]) for label in label_names]
    except (TypeError, ValueError):
        raise DataError(f"{location}: field 'logits' holds a value that is not a number") from None


def load_soft_labels(config: RunConfig, data: LoadedData) -> SoftLabels:
    """Read the configured soft labels; rows not in train become unlabelled training rows.

    For stance a row is a (sentence, target) pair: a training sentence with a target it is not
    paired with in train is a new, unlabelled row.
    Rows whose text is in dev or test are left out, so that distillation never trains on them.
    """
    assert config.training.distillation is not None
    source = config.training.distillation.soft_labels
    records, _ = read_records(source, "train")
    use_context = config.data.context != "none"
    by_target = config.data.target_column is not None
    by_key: dict[tuple[str, str], list[float]] = {}
    for location, record in records:
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{location}: field 'text' is missing or empty")
        if by_target != ("target" in record):
            raise DataError(
                f"{location}: "
                + (
                    "no field 'target': these are a teacher's labels of text alone, and this "
                    "run reads sentence-target pairs (data.target_column)"
                    if by_target
                    else "field 'target': these are a stance teacher's labels of sentence-target "
                    "pairs, and this run reads text alone"
                )
            )
        if by_target:
            second = str(record["target"]).strip()
        else:
            second = (record.get("context") or "") if use_context else ""
        by_key[(text.strip(), second)] = _row_logits(record, data.label_names, location)
    # A stance pair is its sentence *and* target: a train sentence with another target is a new row.
    in_train = {
        (example.text, example.target if by_target else "") for example in data.train.examples
    }
    held_out = {
        example.text
        for split in (data.dev, data.test)
        if split is not None
        for example in split.examples
    }
    unlabelled, dropped = [], 0
    for (text, context), logits in by_key.items():
        if (text, context if by_target else "") in in_train:
            continue
        if text in held_out:
            dropped += 1
            continue
        unlabelled.append(UnlabelledRow(text, context, logits))
    if dropped:
        logger.warning("%s: %d soft-labelled rows are dev or test texts; left out", source, dropped)
    if source.startswith("bundled:") and not config.data.train.startswith("bundled:"):
        data.warnings.append(
            f"TEACHER FROM ANOTHER CORPUS: training.distillation.soft_labels is {source}, a teacher's "
            f"labels of the bundled corpus; its {len(unlabelled)} rows that are not in "
            f"{config.data.train} are added to training as unlabelled rows. "
            "--set training.distillation=null trains on your data alone."
        )
        logger.warning(data.warnings[-1])
    return SoftLabels(source, by_key, unlabelled)
