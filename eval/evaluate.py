"""Evaluate a run on one labelled split: its predictions, everything metrics.json holds, and the
baselines scored on the same rows. report.py writes the result out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import multilabel_confusion_matrix

from stanceframe.errors import StanceframeError
from stanceframe.eval import bootstrap
from stanceframe.eval.baselines import Baseline, LabelledTexts, default_baselines
from stanceframe.eval.run_data import gold_array, load_run_splits, run_config
from stanceframe.metrics import (
    calibration_metrics,
    classification_metrics,
    f_avg,
    multilabel_metrics,
    per_target_scores,
)
from stanceframe.model.classifier import Classifier
from stanceframe.training.data import LoadedData, Split
from stanceframe.training.run_dir import library_versions

SCHEMA_VERSION = 1
MAX_ERRORS_SHOWN = 20


@dataclass
class SplitPredictions:
    gold: np.ndarray  # label ids, or multi-hot [n, n_labels]
    scores: np.ndarray  # the classifier's (calibrated) scores [n, n_labels]
    predicted: np.ndarray  # what the classifier returns, abstention applied; ids or multi-hot
    abstained: np.ndarray  # bool per row: the fallback label replaced a low-confidence label


@dataclass
class Evaluation:
    split: Split
    label_names: list[str]
    multi_label: bool
    predictions: SplitPredictions
    metrics: dict[str, Any]
    baseline_predictions: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class RunReference:
    """What an evaluation sets the model against: the run's training rows and the baselines."""

    baselines: list[Baseline] = field(default_factory=list)
    baselines_skipped: str | None = None
    warnings: list[str] = field(default_factory=list)  # data files changed since training
    train_keys: set[tuple[str, str | None]] | None = None  # (text, target) of the training rows


def predict_split(classifier: Classifier, split: Split, batch_size: int = 32) -> SplitPredictions:
    labels = classifier.labels
    scores = classifier.predict_proba(
        split.texts, split.targets, batch_size=batch_size, contexts=split.contexts
    )
    predictions = [classifier.decide(row) for row in scores]
    if classifier.multi_label:
        predicted = np.array([[float(name in p.labels) for name in labels] for p in predictions])
    else:
        predicted = np.array([labels.index(p.label) for p in predictions], dtype=np.int64)
    top_labels = [labels[index] for index in scores.argmax(axis=1)] if len(scores) else []
    abstained = np.array(
        [p.label != top for p, top in zip(predictions, top_labels, strict=True)], dtype=bool
    )
    return SplitPredictions(
        gold_array(split, labels, classifier.multi_label), scores, predicted, abstained
    )


# ---------------------------------------------------------------- scores


def _label_names_of(row: np.ndarray | int, label_names: list[str], multi_label: bool) -> str:
    if multi_label:
        return "|".join(name for name, on in zip(label_names, row, strict=True) if on) or "(none)"
    return label_names[int(row)]


def point_scores(
    gold: np.ndarray, predicted: np.ndarray, label_names: list[str], multi_label: bool
) -> dict[str, Any]:
    if multi_label:
        scores = multilabel_metrics(gold, predicted, label_names)
        matrices = multilabel_confusion_matrix(gold.astype(int), predicted.astype(int))
        scores["per_label_confusion"] = {
            "cells_are": [["tn", "fp"], ["fn", "tp"]],
            "matrices": {
                name: matrix.tolist() for name, matrix in zip(label_names, matrices, strict=True)
            },
        }
        return scores
    return classification_metrics(gold, predicted, label_names)


def intervals(
    gold: np.ndarray,
    predicted: np.ndarray,
    label_names: list[str],
    multi_label: bool,
    resamples: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    named = bootstrap.scorers(gold, predicted, label_names, multi_label)
    found = bootstrap.percentile_intervals(named, len(gold), resamples=resamples, seed=seed)
    if multi_label:
        found["subset_accuracy"] = found.pop("accuracy")
    return found


def most_confident_errors(
    split: Split, predictions: SplitPredictions, label_names: list[str], multi_label: bool
) -> list[dict[str, Any]]:
    if multi_label:
        wrong = np.flatnonzero((predictions.gold != predictions.predicted).any(axis=1))
        # The score of a multi-label error: the most confident wrong decision in the row.
        decision_confidence = np.where(
            predictions.gold[wrong] != predictions.predicted[wrong],
            np.maximum(predictions.scores[wrong], 1 - predictions.scores[wrong]),
            0.0,
        )
        row_scores = decision_confidence.max(axis=1) if len(wrong) else np.zeros(0)
    else:
        wrong = np.flatnonzero(predictions.gold != predictions.predicted)
        row_scores = predictions.scores[wrong, predictions.predicted[wrong]]
    order = np.argsort(-row_scores, kind="stable")[:MAX_ERRORS_SHOWN]
    errors = []
    for position in order:
        row = int(wrong[position])
        example = split.examples[row]
        errors.append(
            {
                "row": example.location,
                "text": example.text,
                "target": example.target,
                "gold": _label_names_of(predictions.gold[row], label_names, multi_label),
                "predicted": _label_names_of(predictions.predicted[row], label_names, multi_label),
                "score": float(row_scores[position]),
            }
        )
    return errors


def label_distribution(
    predictions: SplitPredictions, label_names: list[str], multi_label: bool
) -> dict[str, dict[str, int]]:
    if multi_label:
        gold_counts = predictions.gold.sum(axis=0)
        predicted_counts = predictions.predicted.sum(axis=0)
    else:
        gold_counts = np.bincount(predictions.gold, minlength=len(label_names))
        predicted_counts = np.bincount(predictions.predicted, minlength=len(label_names))
    return {
        "gold": {name: int(count) for name, count in zip(label_names, gold_counts, strict=True)},
        "predicted": {
            name: int(count) for name, count in zip(label_names, predicted_counts, strict=True)
        },
    }


def stance_section(
    split: Split, gold: np.ndarray, predicted: np.ndarray, label_names: list[str]
) -> dict[str, Any] | None:
    score = f_avg(gold, predicted, label_names)
    if score is None and split.targets is None:
        return None
    return {
        "f_avg": score,
        "per_target": (
            per_target_scores(gold, predicted, split.targets, label_names)
            if split.targets is not None
            else {}
        ),
    }


def baseline_scores(
    baseline: Baseline,
    baseline_predicted: np.ndarray,
    predictions: SplitPredictions,
    label_names: list[str],
    multi_label: bool,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    gold = predictions.gold
    scores = point_scores(gold, baseline_predicted, label_names, multi_label)
    accuracy_key = "subset_accuracy" if multi_label else "accuracy"
    entry = {
        "description": baseline.description,
        accuracy_key: scores[accuracy_key],
        "macro_f1": scores["macro_f1"],
        "weighted_f1": scores["weighted"]["f1"],
        "per_label_f1": {name: row["f1"] for name, row in scores["per_label"].items()},
        "intervals": intervals(gold, baseline_predicted, label_names, multi_label, resamples, seed),
    }
    if not multi_label:
        entry["f_avg"] = f_avg(gold, baseline_predicted, label_names)
    model_scorer = bootstrap.scorers(gold, predictions.predicted, label_names, multi_label)
    baseline_scorer = bootstrap.scorers(gold, baseline_predicted, label_names, multi_label)
    test = bootstrap.paired_bootstrap(
        baseline_scorer["macro_f1"],
        model_scorer["macro_f1"],
        len(gold),
        resamples=resamples,
        seed=seed,
    )
    entry["model_minus_baseline"] = {
        "macro_f1": test.difference,
        "interval": {"low": test.interval[0], "high": test.interval[1]},
        "p_value": test.p_value,
    }
    return entry


def missing_label_warnings(scores: dict[str, Any]) -> list[str]:
    absent = [name for name, row in scores["per_label"].items() if row["support"] == 0]
    if not absent:
        return []
    return [f"no gold rows for {', '.join(absent)} in this data: their F1 counts as 0 in macro-F1"]


# ---------------------------------------------------------------- baselines


def _labelled(split: Split, label_names: list[str], multi_label: bool) -> LabelledTexts:
    return LabelledTexts(split.texts, split.targets, gold_array(split, label_names, multi_label))


def run_reference(
    run_dir: Path,
    label_names: list[str],
    multi_label: bool,
    *,
    baselines: bool = True,
    run_splits: tuple[LoadedData, list[str]] | None = None,
) -> RunReference:
    """Read the run's training data again and train the baselines on it (the C of TF-IDF picked
    on its dev split). `run_splits` saves reading the data a second time."""
    try:
        loaded, changed = run_splits or load_run_splits(run_dir)
    except StanceframeError as error:
        reason = f"the run's training data could not be read: {error}"
        return RunReference(
            baselines_skipped=reason if baselines else "turned off (--no-baselines)"
        )
    reference = RunReference(
        warnings=changed,
        train_keys={(example.text, example.target) for example in loaded.train.examples},
    )
    if not baselines:
        reference.baselines_skipped = "turned off (--no-baselines)"
        return reference
    train = _labelled(loaded.train, label_names, multi_label)
    dev = _labelled(loaded.dev, label_names, multi_label)
    reference.baselines = [
        baseline.fit(train, dev) for baseline in default_baselines(label_names, multi_label)
    ]
    return reference


def overlap_warnings(split: Split, reference: RunReference) -> list[str]:
    if reference.train_keys is None:
        return []
    shared = sum(
        (example.text, example.target) in reference.train_keys for example in split.examples
    )
    if not shared:
        return []
    return [
        f"{shared} of {len(split.examples)} rows also occur in the run's training data "
        "(same text and target): the scores overstate how the model does on unseen text"
    ]


# ---------------------------------------------------------------- the evaluation


def _run_section(classifier: Classifier) -> dict[str, Any]:
    meta = classifier.meta  # the JSON form: these sections go into metrics.json as they are
    return {
        "path": str(classifier.run_dir),
        "task": meta.get("task"),
        "base_model": meta.get("base_model"),
        "created_at": meta.get("created_at"),
        "temperature": meta.get("temperature"),
        "calibration": meta.get("calibration"),
        "inference": meta.get("inference"),
        "training_data": meta.get("data"),
        "training_versions": meta.get("versions"),
    }


def evaluate_split(
    classifier: Classifier,
    split: Split,
    *,
    reference: RunReference | None = None,
    resamples: int = bootstrap.RESAMPLES,
    seed: int = bootstrap.SEED,
    batch_size: int = 32,
) -> Evaluation:
    """Score the classifier on one labelled split; the returned metrics are metrics.json."""
    label_names, multi_label = classifier.labels, classifier.multi_label
    predictions = predict_split(classifier, split, batch_size)
    scores = point_scores(predictions.gold, predictions.predicted, label_names, multi_label)
    config = run_config(classifier.run_dir)
    metrics: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "task": classifier.run_meta.task,
        "split": split.name,
        "labels": list(label_names),
        "multi_label": multi_label,
        **scores,
        "intervals": intervals(
            predictions.gold, predictions.predicted, label_names, multi_label, resamples, seed
        ),
        "bootstrap": {
            "method": "percentile",
            "resamples": resamples,
            "seed": seed,
            "confidence": bootstrap.CONFIDENCE,
        },
        "calibration": {
            "temperature": classifier.temperature,
            **calibration_metrics(predictions.scores, predictions.gold, multi_label),
        },
        "abstention": {
            "threshold": classifier.abstain_threshold,
            "fallback_label": classifier.fallback_label,
            "abstained": int(predictions.abstained.sum()),
            "rate": float(predictions.abstained.mean()) if len(split.examples) else 0.0,
        },
        "stance": None
        if multi_label
        else stance_section(split, predictions.gold, predictions.predicted, label_names),
        "label_distribution": label_distribution(predictions, label_names, multi_label),
        "most_confident_errors": most_confident_errors(
            split, predictions, label_names, multi_label
        ),
        "baselines": {},
        "baselines_skipped": reference.baselines_skipped if reference else "not requested",
        "data": split.fingerprint,
        "run": _run_section(classifier),
        "config": config.model_dump(mode="json") if config else None,
        "warnings": (
            (reference.warnings + overlap_warnings(split, reference) if reference else [])
            + missing_label_warnings(scores)
        ),
        "versions": library_versions(),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    evaluation = Evaluation(split, label_names, multi_label, predictions, metrics)
    for baseline in reference.baselines if reference else []:
        baseline_predicted = baseline.predict(split.texts, split.targets)
        evaluation.baseline_predictions[baseline.name] = baseline_predicted
        metrics["baselines"][baseline.name] = baseline_scores(
            baseline, baseline_predicted, predictions, label_names, multi_label, resamples, seed
        )
    return evaluation
