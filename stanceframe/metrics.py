"""Classification metrics computed with scikit-learn, returned as plain JSON-ready dicts.

Point scores (P/R/F1, confusion matrix), calibration (ECE, Brier, log loss) and the SemEval stance
score F_avg. Uncertainty lives in bootstrap.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

ECE_BINS = 15
STANCE_POLAR_LABELS = ("favor", "against")


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
        "weighted": _averaged(gold, predicted, label_ids, "weighted"),
        "per_label": _per_label(gold, predicted, label_ids, label_names),
    }


# ---------------------------------------------------------------- calibration


def reliability_bins(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> list[dict[str, float]]:
    """Equal-width confidence bins ((m-1)/M, m/M], as in Guo et al. 2017; empty bins included."""
    confidences = np.asarray(confidences, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    bin_ids = np.clip(np.ceil(confidences * n_bins).astype(int) - 1, 0, n_bins - 1)
    bins = []
    for index in range(n_bins):
        members = bin_ids == index
        count = int(members.sum())
        bins.append(
            {
                "lower": index / n_bins,
                "upper": (index + 1) / n_bins,
                "count": count,
                "mean_confidence": float(confidences[members].mean()) if count else None,
                "accuracy": float(correct[members].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, n_bins: int = ECE_BINS
) -> float:
    """Sum over bins of (bin share of rows) x |accuracy - mean confidence|."""
    total = len(confidences)
    if total == 0:
        return 0.0
    return float(
        sum(
            bin_["count"] / total * abs(bin_["accuracy"] - bin_["mean_confidence"])
            for bin_ in reliability_bins(confidences, correct, n_bins)
            if bin_["count"]
        )
    )


def calibration_metrics(
    probabilities: np.ndarray, gold: np.ndarray, multi_label: bool, n_bins: int = ECE_BINS
) -> dict[str, Any]:
    """ECE, reliability bins, Brier score and log loss of the model's scores.

    Single-label: top-label confidence against argmax correctness; Brier is the multi-class sum
    over labels (0 to 2). Multi-label: every (row, label) score is one binary decision at 0.5,
    its confidence max(p, 1 - p); Brier is the mean squared error over all of them (0 to 1).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if not multi_label and len(probabilities):
        # float32 softmax rows sum to 1 only within 1e-7, which scikit-learn warns about
        probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    gold = np.asarray(gold)
    n_labels = probabilities.shape[1]
    if multi_label:
        flat_scores = probabilities.ravel()
        flat_gold = gold.astype(int).ravel()
        confidences = np.maximum(flat_scores, 1 - flat_scores)
        correct = (flat_scores >= 0.5) == flat_gold.astype(bool)
        brier = float(np.mean((flat_scores - flat_gold) ** 2))
        loss = float(log_loss(flat_gold, np.clip(flat_scores, 1e-12, 1 - 1e-12), labels=[0, 1]))
    else:
        confidences = probabilities.max(axis=1)
        correct = probabilities.argmax(axis=1) == gold
        label_ids = list(range(n_labels))
        one_hot = np.eye(n_labels)[gold]
        brier = float(np.mean(np.sum((probabilities - one_hot) ** 2, axis=1)))
        loss = float(log_loss(gold, probabilities, labels=label_ids))
    return {
        "ece": expected_calibration_error(confidences, correct, n_bins),
        "n_bins": n_bins,
        "bins": reliability_bins(confidences, correct, n_bins),
        "brier": brier,
        "log_loss": loss,
        "mean_confidence": float(confidences.mean()) if len(confidences) else 0.0,
    }


# ---------------------------------------------------------------- stance


def f_avg(gold: np.ndarray, predicted: np.ndarray, label_names: list[str]) -> float | None:
    """SemEval-2016 Task 6: the mean F1 of `favor` and `against` (None without those labels)."""
    if not all(label in label_names for label in STANCE_POLAR_LABELS):
        return None
    polar_ids = [label_names.index(label) for label in STANCE_POLAR_LABELS]
    scores = f1_score(gold, predicted, labels=polar_ids, average=None, zero_division=0)
    return float(np.mean(scores))


def per_target_scores(
    gold: np.ndarray, predicted: np.ndarray, targets: list[str], label_names: list[str]
) -> dict[str, dict[str, Any]]:
    """Accuracy, macro-F1 and F_avg for each stance target, most frequent target first."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    target_array = np.asarray(targets, dtype=object)
    names, counts = np.unique(target_array, return_counts=True)
    label_ids = list(range(len(label_names)))
    scores = {}
    for name in [name for _, name in sorted(zip(-counts, names, strict=True))]:
        rows = target_array == name
        scores[str(name)] = {
            "n": int(rows.sum()),
            "accuracy": float(accuracy_score(gold[rows], predicted[rows])),
            "macro_f1": float(
                f1_score(
                    gold[rows], predicted[rows], labels=label_ids, average="macro", zero_division=0
                )
            ),
            "f_avg": f_avg(gold[rows], predicted[rows], label_names),
        }
    return scores
