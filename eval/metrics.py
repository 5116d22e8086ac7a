"""Classification metrics computed with scikit-learn, returned as plain JSON-ready dicts."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)


def _averaged(gold, predicted, labels, average: str) -> dict[str, float]:
    precision, recall, f1, _ = precision_recall_fscore_support(
        gold, predicted, labels=labels, average=average, zero_division=0
    )
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


def _per_label(gold, predicted, labels, label_names) -> dict[str, dict[str, float]]:
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, average=None, zero_division=0
    )
    return {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(label_names, precision, recall, f1, support, strict=True)
    }


def classification_metrics(
    gold_ids: np.ndarray | list[int], predicted_ids: np.ndarray | list[int], label_names: list[str]
) -> dict[str, Any]:
    """Accuracy, macro/micro/weighted P/R/F1, per-label scores and the confusion matrix."""
    gold = np.asarray(gold_ids)
    predicted = np.asarray(predicted_ids)
    label_ids = list(range(len(label_names)))
    return {
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, predicted)) if len(gold) else 0.0,
        "macro_f1": float(
            f1_score(gold, predicted, labels=label_ids, average="macro", zero_division=0)
        ),
        "macro": _averaged(gold, predicted, label_ids, "macro"),
        "micro": _averaged(gold, predicted, label_ids, "micro"),
        "weighted": _averaged(gold, predicted, label_ids, "weighted"),
        "per_label": _per_label(gold, predicted, label_ids, label_names),
        "confusion_matrix": {
            "labels": list(label_names),
            "rows_are": "gold",
            "matrix": confusion_matrix(gold, predicted, labels=label_ids).tolist(),
        },
    }


def multilabel_metrics(
    gold_matrix: np.ndarray, predicted_matrix: np.ndarray, label_names: list[str]
) -> dict[str, Any]:
    """Per-label and micro/macro F1 and subset accuracy for multi-hot [n, n_labels] arrays."""
    gold = np.asarray(gold_matrix).astype(int)
    predicted = np.asarray(predicted_matrix).astype(int)
    label_ids = list(range(len(label_names)))
    return {
        "n": int(len(gold)),
        "subset_accuracy": float(accuracy_score(gold, predicted)) if len(gold) else 0.0,
        "macro_f1": float(f1_score(gold, predicted, average="macro", zero_division=0)),
        "micro_f1": float(f1_score(gold, predicted, average="micro", zero_division=0)),
        "macro": _averaged(gold, predicted, label_ids, "macro"),
        "micro": _averaged(gold, predicted, label_ids, "micro"),
        "per_label": _per_label(gold, predicted, label_ids, label_names),
    }
