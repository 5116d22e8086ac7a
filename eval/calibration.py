"""Temperature scaling (Guo et al. 2017): one scalar T, fitted on dev data, divides the logits.

It leaves every argmax, hence accuracy and F1, unchanged, and makes the scores honest.
`calibrate_run` stores T in the run's stanceframe.json, where `Classifier` reads it, and rewrites
the run's quantification.json (the dev statistics `profile` corrects shares with) from the same data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from stanceframe.atomic import write_json
from stanceframe.eval.run_data import data_config, gold_array, load_eval_split, load_run_splits
from stanceframe.metrics import calibration_metrics
from stanceframe.model.classifier import Classifier
from stanceframe.run_files import CalibrationRecord, read_meta, update_meta
from stanceframe.training.data import Split
from stanceframe.training.run_dir import QUANTIFICATION_FILE, quantification_record

# Scores are float32: clipping keeps log(0) out of the logits recovered from them; a sigmoid
# score cannot be told from 1 above 1 - 6e-8.
_SOFTMAX_FLOOR = 1e-30
_SIGMOID_MARGIN = 1e-7


@dataclass
class CalibrationResult:
    temperature: float
    previous_temperature: float | None
    n: int
    data: str
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def negative_log_likelihood(
    logits: np.ndarray, gold: np.ndarray, temperature: float, multi_label: bool
) -> float:
    scaled = torch.from_numpy(np.asarray(logits, dtype=np.float64) / temperature)
    if multi_label:
        targets = torch.from_numpy(np.asarray(gold, dtype=np.float64))
        return float(torch.nn.functional.binary_cross_entropy_with_logits(scaled, targets))
    targets = torch.from_numpy(np.asarray(gold, dtype=np.int64))
    return float(torch.nn.functional.cross_entropy(scaled, targets))


def fit_temperature(logits: np.ndarray, gold: np.ndarray, multi_label: bool = False) -> float:
    """The T in [0.05, 20] that minimises the NLL of logits / T (convex in 1/T, so a bounded
    scalar search finds it)."""
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, gold, float(np.exp(log_t)), multi_label),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
        options={"xatol": 1e-5},
    )
    return float(np.exp(result.x))


def logits_from_scores(scores: np.ndarray, multi_label: bool) -> np.ndarray:
    """Logits equivalent to uncalibrated scores: log-softmax differs from the logits only by a
    per-row constant, which softmax ignores; the logit function inverts the sigmoid."""
    scores = np.asarray(scores, dtype=np.float64)
    if multi_label:
        clipped = np.clip(scores, _SIGMOID_MARGIN, 1 - _SIGMOID_MARGIN)
        return np.log(clipped) - np.log1p(-clipped)
    return np.log(np.maximum(scores, _SOFTMAX_FLOOR))


def uncalibrated_logits(classifier: Classifier, split: Split, batch_size: int = 32) -> np.ndarray:
    return classifier.logits(split.texts, split.targets, batch_size, contexts=split.contexts)


def _ece(logits: np.ndarray, gold: np.ndarray, temperature: float, multi_label: bool) -> float:
    scaled = torch.from_numpy(logits / temperature)
    scores = torch.sigmoid(scaled) if multi_label else torch.softmax(scaled, dim=-1)
    return calibration_metrics(scores.numpy(), gold, multi_label)["ece"]


def calibrate_run(
    run_dir: str | Path,
    data: str | None = None,
    *,
    device: str = "auto",
    batch_size: int = 32,
) -> CalibrationResult:
    """Fit T on `data` (default: the run's dev split) and store it in the run's stanceframe.json."""
    run_path = Path(run_dir)
    classifier = Classifier.load(run_path, device=device)
    if data is None:
        split = load_run_splits(run_path)[0].dev
        data_name = f"dev split ({split.source})"
    else:
        split = load_eval_split(data, classifier, data_config(classifier))
        data_name = data
    gold = gold_array(split, classifier.labels, classifier.multi_label)
    logits = uncalibrated_logits(classifier, split, batch_size)
    temperature = fit_temperature(logits, gold, classifier.multi_label)
    multi_label = classifier.multi_label
    meta = read_meta(run_path)
    warnings = []
    test_split = meta.data.get("test")
    test_digest = test_split.sha256 if test_split is not None else None
    if data is not None and test_digest and split.fingerprint.get("sha256") == test_digest:
        warnings.append(
            f"{data} is the run's test split: its test ECE will now look better than it is; "
            "calibrate on dev data"
        )
    result = CalibrationResult(
        temperature=temperature,
        previous_temperature=meta.temperature,
        n=len(split.examples),
        data=data_name,
        nll_before=negative_log_likelihood(logits, gold, 1.0, multi_label),
        nll_after=negative_log_likelihood(logits, gold, temperature, multi_label),
        ece_before=_ece(logits, gold, 1.0, multi_label),
        ece_after=_ece(logits, gold, temperature, multi_label),
        warnings=warnings,
    )
    calibration = CalibrationRecord(
        **result.to_dict(),
        method="temperature scaling",
        data_fingerprint=split.fingerprint,
        fitted_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    update_meta(run_path, temperature=temperature, calibration=calibration)
    if (
        not multi_label
    ):  # `profile` corrects label shares with the same dev data the run is calibrated on
        write_json(
            run_path / QUANTIFICATION_FILE,
            quantification_record(split, classifier.labels, gold, logits, "calibrate"),
        )
    return result


def reset_calibration(run_dir: str | Path) -> float | None:
    """Remove a stored temperature; returns the one removed."""
    run_path = Path(run_dir)
    previous = read_meta(run_path).temperature
    update_meta(run_path, temperature=None, calibration=None)
    return previous
