"""Label priors for streams unlike the training corpus: shift decisions, estimate shares by EM.

A classifier's scores are posteriors under the label shares it was trained at. Where the text to
label has other shares (most sentences `other`), Bayes' rule moves each posterior by
prior / training prior (Saerens, Latinne & Decaestecker 2002); the deployment shares themselves can be
estimated from unlabelled text with the same paper's EM, on calibrated scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def shift_to_priors(
    probabilities: np.ndarray, training_prior: np.ndarray, deployment_prior: np.ndarray
) -> np.ndarray:
    """Posteriors under `deployment_prior` from posteriors under `training_prior` (rows sum to 1)."""
    ratio = np.asarray(deployment_prior, dtype=np.float64) / np.asarray(
        training_prior, dtype=np.float64
    )
    shifted = np.asarray(probabilities, dtype=np.float64) * ratio
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


@dataclass
class PriorEstimate:
    priors: np.ndarray  # estimated label shares of the unlabelled text
    iterations: int
    converged: bool


def estimate_priors(
    probabilities: np.ndarray,
    training_prior: np.ndarray,
    max_iterations: int = 1000,
    tolerance: float = 1e-6,
) -> PriorEstimate:
    """EM re-estimation of label shares from posteriors computed under `training_prior`.

    E-step: shift every posterior to the current estimate; M-step: the estimate is their mean.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError("estimate_priors needs a non-empty [n_texts, n_labels] array")
    training_prior = np.asarray(training_prior, dtype=np.float64)
    estimate = training_prior.copy()
    for iteration in range(1, max_iterations + 1):
        shifted = probabilities * (estimate / training_prior)
        shifted /= shifted.sum(axis=1, keepdims=True)
        updated = shifted.mean(axis=0)
        if np.abs(updated - estimate).max() < tolerance:
            return PriorEstimate(updated, iteration, True)
        estimate = updated
    return PriorEstimate(estimate, max_iterations, False)


def parse_priors(text: str, label_names: list[str]) -> dict[str, float]:
    """`other=0.8,accusation=0.1,...` (or a JSON object, or a JSON file) → shares summing to 1."""
    import json
    from pathlib import Path

    candidate = Path(text)
    if text.strip().startswith("{") or (candidate.suffix == ".json" and candidate.is_file()):
        raw = json.loads(candidate.read_text(encoding="utf-8") if candidate.is_file() else text)
        if not isinstance(raw, dict):
            raise ValueError("priors: expected a JSON object of label: share")
        pairs = list(raw.items())
    else:
        pairs = []
        for part in text.split(","):
            label, sep, value = part.partition("=")
            if not sep:
                raise ValueError(f"priors: {part!r} is not LABEL=SHARE")
            pairs.append((label.strip(), value.strip()))
    shares: dict[str, float] = {}
    for label, value in pairs:
        if label not in label_names:
            raise ValueError(f"priors: {label!r} is not one of {', '.join(label_names)}")
        try:
            shares[label] = float(value)
        except (TypeError, ValueError):
            raise ValueError(
                f"priors: the share of {label!r} is not a number ({value!r})"
            ) from None
        if shares[label] <= 0:
            raise ValueError(f"priors: the share of {label!r} must be above 0")
    missing = [label for label in label_names if label not in shares]
    if missing:
        raise ValueError(f"priors: give a share for every label (missing: {', '.join(missing)})")
    total = sum(shares.values())
    return {label: shares[label] / total for label in label_names}
