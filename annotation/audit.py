"""`stanceframe audit`: find likely label errors in labelled data.

Every row gets out-of-sample label probabilities from k-fold logistic regression on sentence
embeddings of the configured base model (each row scored by a model that never saw it), and
cleanlab's confident learning ranks the rows whose given label those probabilities doubt
(`find_label_issues`, ranked by self-confidence). Rows whose text repeats another row's under a
different label are listed too. Most likely errors come first.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stanceframe.annotation.duplicates import normalised
from stanceframe.annotation.io import record_format, write_records
from stanceframe.atomic import check_new_file
from stanceframe.errors import DataError
from stanceframe.records import RecordReader
from stanceframe.training.config import RunConfig
from stanceframe.training.data import (
    TEXT_FORMATS,
    check_labels,
    read_records,
    resolve_source,
    to_examples,
)

REGULARISATION_GRID = (2.0, 8.0, 32.0)
LABEL_ISSUE = "label_issue"
CONFLICT = "conflicting_duplicate"


@dataclass
class AuditSummary:
    output: Path
    rows: int
    written: int
    label_issues: int
    conflicting_rows: int
    conflicting_groups: int
    folds: int
    regularisation: float
    encoder: str
    out_of_fold: dict[str, float] = field(default_factory=dict)  # accuracy, macro-F1
    seconds: dict[str, float] = field(default_factory=dict)
    ranked: list[int] = field(default_factory=list)  # row indices, most likely error first


def _read(source: str, config: RunConfig) -> tuple[list, list[int], str, str]:
    """Validated examples of `source`, each row's line (file) or row number, and the unit."""
    kind, location = resolve_source(source)
    if kind == "file":
        with RecordReader(location, TEXT_FORMATS[Path(location).suffix.lower()]) as reader:
            records = list(reader)
        pairs = [
            (record.location.replace(str(location), source), record.fields) for record in records
        ]
        lines = [record.line for record in records]
        unit = records[0].unit if records else "line"
    else:
        pairs, _ = read_records(source, "train")
        lines = list(range(1, len(pairs) + 1))
        unit = "row"
    data_config = config.data.model_copy(update={"context": "none"})
    examples = to_examples(pairs, data_config, source)
    return examples, lines, unit, str(location)


def _out_of_fold(
    features: np.ndarray, targets: Any, folds: int, seed: int, multi_label: bool, c: float | None
) -> tuple[np.ndarray, float]:
    """Probabilities for each row from models fitted on the other folds, and the chosen C."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
    from sklearn.multiclass import OneVsRestClassifier

    splitter = (
        KFold(folds, shuffle=True, random_state=seed)
        if multi_label
        else StratifiedKFold(folds, shuffle=True, random_state=seed)
    )

    def predict(value: float) -> np.ndarray:
        model = LogisticRegression(C=value, max_iter=3000)
        estimator = OneVsRestClassifier(model) if multi_label else model
        return cross_val_predict(estimator, features, targets, cv=splitter, method="predict_proba")

    if c is not None:
        return predict(c), c
    best = None
    for value in REGULARISATION_GRID:
        probabilities = predict(value)
        if multi_label:
            clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
            loss = float(-np.mean(targets * np.log(clipped) + (1 - targets) * np.log(1 - clipped)))
        else:
            loss = log_loss(targets, probabilities, labels=list(range(probabilities.shape[1])))
        if best is None or loss < best[0]:
            best = (loss, probabilities, value)
    return best[1], best[2]


def _conflicts(examples: list) -> dict[int, list[int]]:
    """Rows whose text (and target) repeats another row's under another label: row → the others."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        groups[(normalised(example.text), normalised(example.target or ""))].append(index)
    conflicts: dict[int, list[int]] = {}
    for members in groups.values():
        if len({tuple(sorted(examples[i].labels)) for i in members}) > 1:
            for index in members:
                conflicts[index] = [other for other in members if other != index]
    return conflicts


def audit(
    data_source: str,
    config: RunConfig,
    output: Path,
    *,
    folds: int = 5,
    seed: int | None = None,
    regularisation: float | None = None,
    write_all: bool = False,
    device: str = "auto",
    batch_size: int = 32,
    overwrite: bool = False,
    encoder=None,
) -> AuditSummary:
    """Rank the rows of `data_source` (in `config`'s columns) by how likely their label is wrong.

    `encoder`: a SentenceEncoder to use instead of loading `config.model.base` (tests pass one).
    """
    from cleanlab.filter import find_label_issues

    output = Path(output)
    record_format(output)
    if folds < 2:
        raise DataError(f"--folds must be at least 2, not {folds}")
    seed = config.training.seed if seed is None else seed
    timings: dict[str, float] = {}
    started = time.perf_counter()
    examples, lines, unit, location = _read(data_source, config)
    check_new_file(output, overwrite, [Path(location)])
    multi_label = config.data.multi_label
    label_names = (
        list(config.data.labels)
        if config.data.labels
        else sorted({label for example in examples for label in example.labels})
    )
    if len(label_names) < 2:
        raise DataError(f"{data_source}: found only one label; an audit needs two or more")
    check_labels(examples, label_names, config.data.label_column)
    position = {label: index for index, label in enumerate(label_names)}

    # cleanlab and the folds work on the labels present; absent ones are added back as zeros
    present = sorted({position[label] for example in examples for label in example.labels})
    column = {label_id: index for index, label_id in enumerate(present)}
    if multi_label:
        targets = np.zeros((len(examples), len(present)), dtype=np.int64)
        for row, example in enumerate(examples):
            for label in example.labels:
                targets[row, column[position[label]]] = 1
        smallest = int(min(targets.sum(axis=0).min(), (1 - targets).sum(axis=0).min()))
    else:
        targets = np.array([column[position[example.labels[0]]] for example in examples])
        smallest = int(np.bincount(targets).min())
    if smallest < 2:
        rare = [
            label_names[label_id]
            for label_id in present
            if (
                targets[:, column[label_id]].sum() < 2
                if multi_label
                else (targets == column[label_id]).sum() < 2
            )
        ]
        raise DataError(
            f"{data_source}: label {', '.join(rare) or '?'} has fewer than 2 rows (or is on "
            "nearly every row); out-of-fold scores need at least 2 of each"
        )
    folds = min(folds, smallest)
    timings["read"] = time.perf_counter() - started

    started = time.perf_counter()
    if encoder is None:
        from stanceframe.annotation.embeddings import SentenceEncoder

        encoder = SentenceEncoder.load(
            config.model.base, device=device, max_length=config.model.max_length
        )
    texts = [example.text for example in examples]
    example_targets = [example.target or "" for example in examples]
    features = encoder.encode(
        texts, example_targets if config.data.target_column else None, batch_size=batch_size
    )
    timings["embeddings"] = time.perf_counter() - started

    started = time.perf_counter()
    probabilities, chosen_c = _out_of_fold(
        features, targets, folds, seed, multi_label, regularisation
    )
    timings["folds"] = time.perf_counter() - started

    started = time.perf_counter()
    if multi_label:
        from cleanlab.multilabel_classification.rank import get_label_quality_scores

        given = [list(np.flatnonzero(row)) for row in targets]
        issues = find_label_issues(
            labels=given,
            pred_probs=probabilities,
            multi_label=True,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        quality = get_label_quality_scores(given, probabilities)
        predicted_sets = probabilities >= 0.5
        correct = (predicted_sets == targets.astype(bool)).all(axis=1)
        out_of_fold = {"subset_accuracy": round(float(correct.mean()), 4)}
    else:
        from sklearn.metrics import f1_score

        issues = find_label_issues(
            labels=targets,
            pred_probs=probabilities,
            return_indices_ranked_by="self_confidence",
            n_jobs=1,
        )
        quality = probabilities[np.arange(len(targets)), targets]
        predicted = probabilities.argmax(axis=1)
        out_of_fold = {
            "accuracy": round(float((predicted == targets).mean()), 4),
            "macro_f1": round(float(f1_score(targets, predicted, average="macro")), 4),
        }
    conflicts = _conflicts(examples)
    timings["ranking"] = time.perf_counter() - started

    flagged = set(int(index) for index in issues)
    scores = 1.0 - np.asarray(quality, dtype=np.float64)
    listed = range(len(examples)) if write_all else sorted(flagged | set(conflicts))
    order = sorted(listed, key=lambda index: (-scores[index], index))
    rows = []
    for index in order:
        example = examples[index]
        if multi_label:
            suggestion = [
                label_names[present[j]] for j in np.flatnonzero(probabilities[index] >= 0.5)
            ]
            suggested = (
                "|".join(suggestion) or label_names[present[int(probabilities[index].argmax())]]
            )
            given_label = "|".join(example.labels)
        else:
            suggested = label_names[present[int(probabilities[index].argmax())]]
            given_label = example.labels[0]
        issue = []
        if index in flagged:
            issue.append(LABEL_ISSUE)
        if index in conflicts:
            others = [str(lines[other]) for other in conflicts[index]]
            shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
            issue.append(f"{CONFLICT} of {unit}{'s' if len(others) > 1 else ''} {shown}")
        # `line`: the line of the file (for Parquet files and datasets, the row number)
        row: dict[str, Any] = {"line": lines[index], "text": example.text}
        if config.data.target_column:
            row["target"] = example.target
        row.update(
            {
                "label": given_label,
                "suggested_label": suggested,
                "score": round(float(scores[index]), 4),
                "issue": "; ".join(issue),
            }
        )
        rows.append(row)
    written = write_records(output, rows)
    conflict_groups = {tuple(sorted([index, *others])) for index, others in conflicts.items()}
    ranked = sorted(range(len(examples)), key=lambda index: (-scores[index], index))
    return AuditSummary(
        output=output,
        rows=len(examples),
        written=written,
        label_issues=len(flagged),
        conflicting_rows=len(conflicts),
        conflicting_groups=len(conflict_groups),
        folds=folds,
        regularisation=chosen_c,
        encoder=getattr(encoder, "name", "?"),
        out_of_fold=out_of_fold,
        seconds={name: round(value, 1) for name, value in timings.items()},
        ranked=ranked,
    )
