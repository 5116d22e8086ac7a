"""Compare two runs on the same labelled rows: scores side by side, a paired bootstrap test on
macro-F1 and accuracy, an exact McNemar test on who is right, and the rows where they disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader
from scipy.stats import binomtest

from stanceframe.atomic import staged_folder, write_marker
from stanceframe.errors import DataError
from stanceframe.eval import bootstrap
from stanceframe.eval.evaluate import SplitPredictions, point_scores, predict_split
from stanceframe.eval.report import check_writable
from stanceframe.eval.run_data import data_config, load_eval_split, load_run_splits
from stanceframe.model.classifier import Classifier
from stanceframe.rendering import jinja_environment
from stanceframe.training.data import Split

SCHEMA_VERSION = 1
SCORE_NAMES = {"macro_f1": "macro-F1", "accuracy": "accuracy", "subset_accuracy": "subset accuracy"}


@dataclass
class Comparison:
    summary: dict[str, Any]  # comparison.json
    disagreements: list[dict[str, Any]]


def _aligned(predictions: SplitPredictions, own: list[str], wanted: list[str]) -> SplitPredictions:
    """Re-order a run's label columns and ids to another run's label order."""
    order = [own.index(label) for label in wanted]
    predicted = predictions.predicted
    if predicted.ndim == 1:
        predicted = np.array([wanted.index(own[index]) for index in predicted], dtype=np.int64)
    else:
        predicted = predicted[:, order]
    gold = predictions.gold
    gold = gold[:, order] if gold.ndim == 2 else np.array([wanted.index(own[i]) for i in gold])
    return SplitPredictions(gold, predictions.scores[:, order], predicted, predictions.abstained)


def _label_text(row, label_names: list[str]) -> str:
    if np.ndim(row) == 0:
        return label_names[int(row)]
    return "|".join(name for name, on in zip(label_names, row, strict=True) if on) or "(none)"


def _run_summary(run: Path, classifier: Classifier, scores: dict, intervals: dict) -> dict:
    accuracy_key = "subset_accuracy" if classifier.multi_label else "accuracy"
    return {
        "path": str(run),
        "base_model": classifier.run_meta.base_model,
        "temperature": classifier.run_meta.temperature,
        "macro_f1": scores["macro_f1"],
        accuracy_key: scores[accuracy_key],
        "intervals": intervals,
        "per_label_f1": {name: row["f1"] for name, row in scores["per_label"].items()},
    }


def _comparison_split(run_a: Path, classifier_a: Classifier, data: str | None) -> Split:
    if data is not None:
        return load_eval_split(data, classifier_a, data_config(classifier_a))
    loaded, _ = load_run_splits(run_a)
    if loaded.test is None:
        raise DataError(f"{run_a}: the run has no test split; pass --data FILE")
    return loaded.test


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    data: str | None = None,
    *,
    resamples: int = bootstrap.RESAMPLES,
    seed: int = bootstrap.SEED,
    device: str = "auto",
    batch_size: int = 32,
) -> Comparison:
    """Score A and B on `data` (default: A's test split) and test whether B differs from A."""
    path_a, path_b = Path(run_a), Path(run_b)
    classifier_a = Classifier.load(path_a, device=device)
    classifier_b = Classifier.load(path_b, device=device)
    labels = classifier_a.labels
    if (
        set(classifier_b.labels) != set(labels)
        or classifier_a.multi_label != classifier_b.multi_label
    ):
        raise DataError(
            f"{path_a} and {path_b} do not share a label set "
            f"({', '.join(labels)} vs {', '.join(classifier_b.labels)}); they cannot be compared"
        )
    if classifier_b.needs_target and not classifier_a.needs_target:
        raise DataError(f"{path_b} reads a target but {path_a} does not; they cannot be compared")
    split = _comparison_split(path_a, classifier_a, data)
    multi_label = classifier_a.multi_label
    predictions_a = predict_split(classifier_a, split, batch_size)
    predictions_b = _aligned(
        predict_split(classifier_b, split, batch_size), classifier_b.labels, labels
    )
    gold = predictions_a.gold
    n_rows = len(gold)

    summaries = {}
    named_scorers = {}
    for name, path, classifier, predictions in (
        ("a", path_a, classifier_a, predictions_a),
        ("b", path_b, classifier_b, predictions_b),
    ):
        named_scorers[name] = bootstrap.scorers(gold, predictions.predicted, labels, multi_label)
        found = bootstrap.percentile_intervals(
            named_scorers[name], n_rows, resamples=resamples, seed=seed
        )
        scores = point_scores(gold, predictions.predicted, labels, multi_label)
        summaries[name] = _run_summary(path, classifier, scores, found)

    tests = {}
    for score_name in ("macro_f1", "accuracy"):
        test = bootstrap.paired_bootstrap(
            named_scorers["a"][score_name],
            named_scorers["b"][score_name],
            n_rows,
            resamples=resamples,
            seed=seed,
        )
        key = "subset_accuracy" if multi_label and score_name == "accuracy" else score_name
        tests[key] = {
            "a": test.score_a,
            "b": test.score_b,
            "b_minus_a": test.difference,
            "interval": {"low": test.interval[0], "high": test.interval[1]},
            "p_value": test.p_value,
        }

    correct_a = (predictions_a.predicted == gold).reshape(n_rows, -1).all(axis=1)
    correct_b = (predictions_b.predicted == gold).reshape(n_rows, -1).all(axis=1)
    only_a, only_b = int((correct_a & ~correct_b).sum()), int((~correct_a & correct_b).sum())
    mcnemar = binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
    differs = (predictions_a.predicted != predictions_b.predicted).reshape(n_rows, -1).any(axis=1)

    disagreements = []
    for row in np.flatnonzero(differs):
        example = split.examples[row]
        disagreements.append(
            {
                "row": example.location,
                "text": example.text,
                "target": example.target,
                "gold": _label_text(gold[row], labels),
                "a": _label_text(predictions_a.predicted[row], labels),
                "a_score": float(predictions_a.scores[row].max()),
                "b": _label_text(predictions_b.predicted[row], labels),
                "b_score": float(predictions_b.scores[row].max()),
                "right": "both"
                if correct_a[row] and correct_b[row]
                else "a"
                if correct_a[row]
                else "b"
                if correct_b[row]
                else "neither",
            }
        )
    # Rows one run gets right first, most confident first: the most telling disagreements.
    disagreements.sort(
        key=lambda item: (item["right"] == "neither", -max(item["a_score"], item["b_score"]))
    )

    summary = {
        "schema_version": SCHEMA_VERSION,
        "data": split.fingerprint,
        "n": n_rows,
        "labels": labels,
        "multi_label": multi_label,
        "a": summaries["a"],
        "b": summaries["b"],
        "paired_bootstrap": {**tests, "resamples": resamples, "seed": seed, "two_sided": True},
        "agreement": {
            "both_right": int((correct_a & correct_b).sum()),
            "only_a_right": only_a,
            "only_b_right": only_b,
            "both_wrong": int((~correct_a & ~correct_b).sum()),
            "disagree": int(differs.sum()),
            "mcnemar_exact_p": float(mcnemar),
        },
    }
    return Comparison(summary, disagreements)


@cache
def _environment() -> Environment:
    environment = jinja_environment(
        PackageLoader("stanceframe.eval", "templates"), autoescape=False
    )
    environment.filters["f3"] = lambda value: f"{value:.3f}"
    environment.filters["signed"] = lambda value: f"{value:+.3f}"
    # a pipe would end the table cell
    environment.filters["cell"] = lambda text: str(text).replace("|", "\\|")
    return environment


def render_comparison_markdown(comparison: Comparison, shown: int = 50) -> str:
    """comparison.md (and what `compare` prints): scores, tests, F1 per label, disagreements."""
    summary = comparison.summary
    template = _environment().get_template("comparison.md.j2")
    return template.render(
        summary=summary,
        a=summary["a"],
        b=summary["b"],
        accuracy_key="subset_accuracy" if summary["multi_label"] else "accuracy",
        score_names=SCORE_NAMES,
        disagreements=comparison.disagreements,
        shown=shown,
    )


def write_comparison(
    comparison: Comparison, out_dir: str | Path, *, overwrite: bool = False
) -> Path:
    """comparison.json, comparison.md and disagreements.jsonl in a folder, written atomically.

    It never replaces either run compared, nor a folder that stanceframe did not write.
    """
    out_path = Path(out_dir)
    runs = [Path(comparison.summary[side]["path"]) for side in ("a", "b")]
    check_writable(out_path, overwrite, runs)
    with staged_folder(out_path) as staging:
        (staging / "comparison.json").write_text(
            json.dumps(comparison.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / "comparison.md").write_text(
            render_comparison_markdown(comparison), encoding="utf-8"
        )
        with (staging / "disagreements.jsonl").open("w", encoding="utf-8") as output:
            for item in comparison.disagreements:
                output.write(json.dumps(item, ensure_ascii=False) + "\n")
        write_marker(staging, "comparison")
    return out_path
