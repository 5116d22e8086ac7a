"""Inter-annotator agreement over tasks labelled more than once: observed agreement,
Krippendorff's alpha (nominal; any number of annotators, missing ones allowed) and Cohen's kappa
for each pair of annotators who labelled the same tasks."""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

# One task's annotations: (annotator, label) pairs; a label is any hashable value (a name, or
# a frozenset of names for multi-label tasks).
TaskLabels = Sequence[tuple[Hashable, Hashable]]
MIN_SHARED_FOR_KAPPA = 2


def _label_text(label: Hashable) -> str:
    if isinstance(label, frozenset):
        return "|".join(sorted(label)) or "(none)"
    return str(label)


def agreement_summary(tasks: Sequence[TaskLabels]) -> dict[str, Any]:
    """Agreement over the tasks that have two annotations or more."""
    several = [task for task in tasks if len(task) >= 2]
    summary: dict[str, Any] = {
        "tasks_with_several_annotations": len(several),
        "annotations_in_them": sum(len(task) for task in several),
        "observed_agreement": None,
        "krippendorff_alpha": None,
        "cohen_kappa": {"mean": None, "pairs": []},
    }
    if not several:
        summary["note"] = "no task has two annotations; agreement needs overlap between annotators"
        return summary

    pair_agreement = []
    for task in several:
        labels = [label for _, label in task]
        pairs = list(itertools.combinations(labels, 2))
        pair_agreement.append(sum(first == second for first, second in pairs) / len(pairs))
    summary["observed_agreement"] = round(float(np.mean(pair_agreement)), 4)

    values = sorted({label for task in several for _, label in task}, key=_label_text)
    position = {value: index for index, value in enumerate(values)}
    counts = np.zeros((len(several), len(values)))
    for row, task in enumerate(several):
        for _, label in task:
            counts[row, position[label]] += 1
    if len(values) < 2:
        summary["note"] = "every annotation gave the same label; alpha is undefined"
    else:
        import krippendorff

        alpha = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
        summary["krippendorff_alpha"] = None if np.isnan(alpha) else round(float(alpha), 4)

    summary["cohen_kappa"] = _pairwise_kappa(several)
    return summary


def _pairwise_kappa(tasks: Sequence[TaskLabels]) -> dict[str, Any]:
    from sklearn.metrics import cohen_kappa_score

    by_annotator: dict[Hashable, dict[int, Hashable]] = {}
    for index, task in enumerate(tasks):
        for annotator, label in task:
            if annotator is not None:
                by_annotator.setdefault(annotator, {})[index] = label
    pairs = []
    for first, second in itertools.combinations(sorted(by_annotator, key=str), 2):
        shared = sorted(set(by_annotator[first]) & set(by_annotator[second]))
        if len(shared) < MIN_SHARED_FOR_KAPPA:
            continue
        first_labels = [_label_text(by_annotator[first][i]) for i in shared]
        second_labels = [_label_text(by_annotator[second][i]) for i in shared]
        with np.errstate(invalid="ignore", divide="ignore"):
            kappa = cohen_kappa_score(first_labels, second_labels)
        pairs.append(
            {
                "annotators": [str(first), str(second)],
                "shared_tasks": len(shared),
                "kappa": None if np.isnan(kappa) else round(float(kappa), 4),
            }
        )
    defined = [pair["kappa"] for pair in pairs if pair["kappa"] is not None]
    return {"mean": round(float(np.mean(defined)), 4) if defined else None, "pairs": pairs}
