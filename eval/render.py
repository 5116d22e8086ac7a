"""Render an evaluation as report.md and a self-contained report.html (images inlined as base64)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader

from stanceframe.eval import figures
from stanceframe.eval.evaluate import Evaluation
from stanceframe.rendering import jinja_environment

MAX_TARGETS_SHOWN = 25
BASELINE_TITLES = {
    "majority": "Majority class",
    "keyword_lexicon": "Keyword lexicon",
    "tfidf_logreg": "TF-IDF + logistic regression",
}


@dataclass
class Figure:
    name: str  # file stem under figures/
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def draw_figures(evaluation: Evaluation) -> list[Figure]:
    metrics = evaluation.metrics
    predictions = evaluation.predictions
    labels = evaluation.label_names
    drawn = []
    if baseline_rows(metrics)[1:]:
        drawn.append(
            Figure(
                "baselines",
                "Model and baselines",
                "Macro-F1 on this data; error bars are 95% percentile-bootstrap intervals.",
                figures.model_against_baselines(baseline_rows(metrics)),
            )
        )
    if evaluation.multi_label:
        drawn.append(
            Figure(
                "confusion",
                "Confusion per label",
                "For each label: rows are gold (absent/present), columns the prediction.",
                figures.multilabel_confusion(metrics["per_label_confusion"]["matrices"]),
            )
        )
    else:
        drawn.append(
            Figure(
                "confusion",
                "Confusion matrix",
                "Rows are gold labels, columns predicted labels.",
                figures.confusion_heatmaps(metrics["confusion_matrix"]["matrix"], labels),
            )
        )
    calibration = metrics["calibration"]
    drawn += [
        Figure(
            "reliability",
            "Reliability diagram",
            "Rows binned by the model's top score: a calibrated model's bars touch the diagonal.",
            figures.reliability_diagram(
                calibration["bins"], calibration["ece"], calibration["temperature"]
            ),
        ),
        Figure(
            "scores",
            "Score histograms",
            "Each label's score on rows that carry it (blue) and on all other rows (grey), each "
            "as a share of its group: good separation puts blue right and grey left.",
            figures.score_histograms(
                predictions.scores, predictions.gold, labels, evaluation.multi_label
            ),
        ),
        Figure(
            "distribution",
            "Label distribution",
            "How often each label is gold and how often the model predicts it.",
            figures.label_distribution(metrics["label_distribution"]),
        ),
    ]
    return drawn


def baseline_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The model first, then each baseline: name, macro-F1, interval, accuracy."""
    accuracy_key = "subset_accuracy" if metrics["multi_label"] else "accuracy"
    rows = [
        {
            "name": "this model",
            "is_model": True,
            "macro_f1": metrics["macro_f1"],
            "low": metrics["intervals"]["macro_f1"]["low"],
            "high": metrics["intervals"]["macro_f1"]["high"],
            "accuracy": metrics[accuracy_key],
            "f_avg": (metrics.get("stance") or {}).get("f_avg"),
            "description": f"{metrics['run']['base_model']} fine-tuned",
            "difference": None,
        }
    ]
    for name, entry in metrics["baselines"].items():
        rows.append(
            {
                "name": BASELINE_TITLES.get(name, name),
                "is_model": False,
                "macro_f1": entry["macro_f1"],
                "low": entry["intervals"]["macro_f1"]["low"],
                "high": entry["intervals"]["macro_f1"]["high"],
                "accuracy": entry[accuracy_key],
                "f_avg": entry.get("f_avg"),
                "description": entry["description"],
                "difference": entry["model_minus_baseline"],
            }
        )
    return rows


def _number(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p_value(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _environment(autoescape: bool) -> Environment:
    environment = jinja_environment(
        PackageLoader("stanceframe.eval", "templates"), autoescape=autoescape
    )
    environment.filters["num"] = _number
    environment.filters["pval"] = _p_value
    environment.filters["pct"] = lambda value: "–" if value is None else f"{100 * value:.1f}%"
    environment.filters["md"] = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    return environment


def _context(evaluation: Evaluation, drawn: list[Figure], command: str | None) -> dict[str, Any]:
    metrics = evaluation.metrics
    accuracy_key = "subset_accuracy" if evaluation.multi_label else "accuracy"
    config = metrics.get("config")
    return {
        "m": metrics,
        "accuracy_key": accuracy_key,
        "accuracy_name": "subset accuracy" if evaluation.multi_label else "accuracy",
        "figures": {figure.name: figure for figure in drawn},
        "baselines": baseline_rows(metrics),
        "has_targets": bool(metrics.get("stance") and metrics["stance"]["per_target"]),
        "max_targets": MAX_TARGETS_SHOWN,
        "command": command,
        "config_json": json.dumps(config, indent=2, ensure_ascii=False) if config else None,
        "training_data": metrics["run"].get("training_data") or {},
    }


def render_markdown(evaluation: Evaluation, drawn: list[Figure], command: str | None) -> str:
    template = _environment(autoescape=False).get_template("report.md.j2")
    return template.render(**_context(evaluation, drawn, command))


def render_html(evaluation: Evaluation, drawn: list[Figure], command: str | None) -> str:
    template = _environment(autoescape=True).get_template("report.html.j2")
    return template.render(**_context(evaluation, drawn, command))
