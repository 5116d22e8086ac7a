"""Quantification: a group's label shares estimated from a classifier's outputs, corrected for its
errors with the run's dev-split statistics, and bootstrap intervals that resample both.

Counting predicted labels (classify and count, CC) is biased whenever a corpus's label shares differ
from the ones the classifier was tested at (Forman 2008). The corrections here are the classic ones,
built on QuaPy's implementations (Moreo, Esuli & Sebastiani 2021):

- `cc`: classify and count, the raw shares;
- `acc`: adjusted classify and count (Forman 2008): solve q = M p, M the dev rates P(predicted | gold);
- `pcc`: probabilistic classify and count (Bella et al. 2010): the mean posterior;
- `pacc`: the same adjustment as ACC on mean posteriors;
- `em`: EM re-estimation of the priors (Saerens, Latinne & Decaestecker 2002; QuaPy's EMQ/SLD), on
  the run's calibrated posteriors.

Every estimate takes *weights* over the corpus's sentences, so that one call computes the point
estimate (all weights 1) and a whole batch of bootstrap resamples (article-resampling counts); the
weighted forms equal QuaPy's own on the resampled rows (tests/eval/test_quantify.py checks that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = {
    "em": "EM re-estimation of priors (Saerens et al. 2002) on calibrated posteriors",
    "acc": "adjusted classify and count (Forman 2008)",
    "pacc": "probabilistic adjusted classify and count (Bella et al. 2010)",
    "pcc": "probabilistic classify and count (mean posterior)",
    "cc": "classify and count (raw predicted shares, no correction)",
}
# Measured on shifted corpora built from the bundled test split (scripts/quantification_eval.py,
# docs/corpus-analysis.md): EM from the training prior had the lowest error there.
DEFAULT_METHOD = "em"
CONFIDENCE = 0.95
RESAMPLES = 1000
EM_TOLERANCE = 1e-4  # QuaPy's EMQ.EPSILON: stop when the mean change of the shares is below it
EM_MAX_ITERATIONS = 1000  # QuaPy's EMQ.MAX_ITER
_ELEMENTS_PER_CHUNK = 4_000_000  # resamples x sentences x labels held at once by the weighted EM


@dataclass
class DevStatistics:
    """What the correction learns from labelled dev data: each row's gold label, the classifier's
    decision (by the same rule as on the corpus) and its posteriors (calibrated, no priors)."""

    labels: list[str]
    gold: np.ndarray  # [n] label ids
    decisions: np.ndarray  # [n] label ids
    posteriors: np.ndarray  # [n, k]
    source: str
    # the label shares the posteriors were fitted under (the run's training prior, class weights
    # included); EM starts from it. None: the mean dev posterior stands in.
    reference_prior: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.gold = np.asarray(self.gold, dtype=np.int64)
        self.decisions = np.asarray(self.decisions, dtype=np.int64)
        self.posteriors = np.asarray(self.posteriors, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.gold)

    def take(self, rows: np.ndarray) -> DevStatistics:
        return DevStatistics(
            self.labels,
            self.gold[rows],
            self.decisions[rows],
            self.posteriors[rows],
            self.source,
            self.reference_prior,
        )

    def confusion(self) -> np.ndarray:
        """Counts [gold, decided]."""
        k = len(self.labels)
        return np.bincount(self.gold * k + self.decisions, minlength=k * k).reshape(k, k)


@dataclass
class Correction:
    """One method fitted on one set of dev rows."""

    method: str
    rates: np.ndarray | None = None  # ACC/PACC: M[i, j] = P(predicted i | gold j)
    reference_prior: np.ndarray | None = None  # EM: the shares the posteriors were computed under


def _classes(k: int) -> np.ndarray:
    return np.arange(k)


def fit(method: str, dev: DevStatistics) -> Correction:
    """Fit `method`'s dev statistics (QuaPy's estimators of the misclassification rates)."""
    from quapy.method.aggregative import ACC, PACC

    k = len(dev.labels)
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if method == "acc":
        return Correction(method, rates=ACC.getPteCondEstim(_classes(k), dev.gold, dev.decisions))
    if method == "pacc":
        return Correction(method, rates=PACC.getPteCondEstim(_classes(k), dev.gold, dev.posteriors))
    if method == "em":
        # EM shifts posteriors away from the shares they were fitted under: the run's training
        # prior (measured: 0.059 total error against 0.125 from the mean dev posterior, QuaPy's
        # exact_train_prev=False, and 0.157 from the dev shares; docs/corpus-analysis.md).
        prior = dev.reference_prior
        if prior is None:
            prior = dev.posteriors.mean(axis=0)
        prior = np.asarray(prior, dtype=np.float64)
        return Correction(method, reference_prior=prior / prior.sum())
    return Correction(method)


def _adjust(rates: np.ndarray, unadjusted: np.ndarray) -> np.ndarray:
    """QuaPy's ACC/PACC aggregate: solve q = M p on the simplex (least squares), then clip."""
    from quapy import functional
    from quapy.method.aggregative import ACC

    estimate = ACC.solve_adjustment(
        class_conditional_rates=rates,
        unadjusted_counts=unadjusted,
        method="inversion",
        solver="minimize",
    )
    return functional.normalize_prevalence(estimate, method="clip")


def weighted_em(
    posteriors: np.ndarray,
    weights: np.ndarray,
    reference_priors: np.ndarray,
    tolerance: float = EM_TOLERANCE,
    max_iterations: int = EM_MAX_ITERATIONS,
) -> np.ndarray:
    """Saerens et al.'s EM for many weightings of the same rows at once.

    posteriors [n, k]; weights [b, n] (a bootstrap resample's count of each row); reference_priors
    [b, k] (the shares the posteriors were computed under, one per resample). Returns [b, k].
    Row b equals QuaPy's `EMQ.EM(reference_priors[b], posteriors repeated by weights[b])`.
    """
    posteriors = np.asarray(posteriors, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    reference = np.asarray(reference_priors, dtype=np.float64).copy()
    zero = (reference == 0).any(axis=1)
    if zero.any():  # as QuaPy does: smooth a zero share so that nothing divides by it
        reference[zero] = (reference[zero] + tolerance) / (reference[zero] + tolerance).sum(
            axis=1, keepdims=True
        )
    totals = weights.sum(axis=1, keepdims=True)
    estimates = reference.copy()
    active = np.ones(len(weights), dtype=bool)
    for iteration in range(max_iterations):
        rows = np.flatnonzero(active)
        shifted = posteriors[None, :, :] * (estimates[rows] / reference[rows])[:, None, :]
        shifted /= shifted.sum(axis=2, keepdims=True)
        updated = np.einsum("bn,bnk->bk", weights[rows], shifted) / totals[rows]
        change = np.abs(updated - estimates[rows]).mean(axis=1)
        estimates[rows] = updated
        if iteration > 10:  # QuaPy's rule: at least a dozen steps, then a small mean change
            active[rows[change < tolerance]] = False
        if not active.any():
            break
    return estimates


def estimate(
    corrections: list[Correction],
    decisions: np.ndarray,
    posteriors: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Shares [b, k] of one group of sentences, under row weighting b with correction b.

    decisions [n] label ids; posteriors [n, k]; weights [b, n]; one correction per weighting.
    """
    k = posteriors.shape[1]
    weights = np.asarray(weights, dtype=np.float64)
    totals = weights.sum(axis=1, keepdims=True)
    method = corrections[0].method
    one_hot = np.eye(k)[np.asarray(decisions, dtype=np.int64)]
    counted = weights @ one_hot / totals  # classify and count
    if method == "cc":
        return counted
    mean_posterior = weights @ posteriors / totals
    if method == "pcc":
        return mean_posterior
    if method in ("acc", "pacc"):
        unadjusted = counted if method == "acc" else mean_posterior
        return np.stack(
            [
                _adjust(correction.rates, row)
                for correction, row in zip(corrections, unadjusted, strict=True)
            ]
        )
    reference = np.stack([correction.reference_prior for correction in corrections])
    chunk = max(1, _ELEMENTS_PER_CHUNK // max(1, posteriors.size))
    return np.concatenate(
        [
            weighted_em(
                posteriors, weights[start : start + chunk], reference[start : start + chunk]
            )
            for start in range(0, len(weights), chunk)
        ]
    )


def percentile_interval(
    replicates: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail], axis=0)
    return low, high


@dataclass
class DevResamples:
    """The corrections fitted on `resamples` bootstrap resamples of the dev rows (the uncertainty of
    the dev statistics), shared by every group so that groups are compared under the same draws."""

    point: Correction
    replicates: list[Correction]


def resample_dev(method: str, dev: DevStatistics, resamples: int, seed: int) -> DevResamples:
    rng = np.random.default_rng([seed, 0])
    rows = rng.integers(0, len(dev), size=(resamples, len(dev)))
    return DevResamples(fit(method, dev), [fit(method, dev.take(draw)) for draw in rows])


def cluster_weights(clusters: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """[resamples, n] row weights: each resample draws the clusters (articles) with replacement and
    every row of a drawn cluster counts as many times as its cluster was drawn."""
    clusters = np.asarray(clusters)
    unique, local = np.unique(clusters, return_inverse=True)
    draws = rng.multinomial(len(unique), np.full(len(unique), 1.0 / len(unique)), size=resamples)
    return draws[:, local]


@dataclass
class GroupEstimate:
    sentences: int
    articles: int
    share: np.ndarray  # raw predicted shares (classify and count)
    corrected: np.ndarray
    low: np.ndarray
    high: np.ndarray


def estimate_group(
    dev_resamples: DevResamples,
    decisions: np.ndarray,
    posteriors: np.ndarray,
    clusters: np.ndarray,
    rng: np.random.Generator,
    confidence: float = CONFIDENCE,
) -> GroupEstimate:
    """Raw and corrected shares of one group, with a bootstrap interval over its articles and the
    dev rows together (resample b pairs article draw b with dev draw b)."""
    n = len(decisions)
    k = posteriors.shape[1]
    ones = np.ones((1, n))
    share = np.bincount(decisions, minlength=k) / n
    corrected = estimate([dev_resamples.point], decisions, posteriors, ones)[0]
    resamples = len(dev_resamples.replicates)
    weights = cluster_weights(clusters, resamples, rng)
    replicates = estimate(dev_resamples.replicates, decisions, posteriors, weights)
    low, high = percentile_interval(replicates, confidence)
    return GroupEstimate(
        sentences=n,
        articles=len(np.unique(clusters)),
        share=share,
        corrected=corrected,
        low=low,
        high=high,
    )
