"""Which unlabelled rows to label next: uncertainty of the model's scores, diversity over sentence
embeddings, or both, on plain arrays (so a simulation can call them with any model's scores).

`uncertain-diverse` follows Zhdanov (2019, "Diverse mini-batch active learning"): take the
`candidate_factor` x N most uncertain rows, cluster them into N groups by k-means weighted by
uncertainty, and take from each group the row nearest its centre. A batch then covers N different
regions of the uncertain part of the pool instead of N near-copies of the hardest sentence.
"""

from __future__ import annotations

import numpy as np

STRATEGIES = ("uncertain-diverse", "uncertainty", "diverse", "random")
MEASURES = ("margin", "entropy")
DEFAULT_CANDIDATE_FACTOR = 10


def uncertainty(
    probabilities: np.ndarray, measure: str = "margin", multi_label: bool = False
) -> np.ndarray:
    """How unsure the model is about each row, from 0 (certain) to 1.

    margin: 1 - (top score - second score); entropy: the scores' entropy over its maximum. For
    multi-label runs, each label is a yes/no decision: margin takes the least certain one,
    entropy the mean over labels.
    """
    if measure not in MEASURES:
        raise ValueError(f"uncertainty measure {measure!r} is not one of {', '.join(MEASURES)}")
    scores = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    if multi_label:
        if measure == "margin":
            return 1.0 - np.abs(2.0 * scores - 1.0).min(axis=1)
        yes, no = scores, np.clip(1.0 - scores, 1e-12, 1.0)
        return (-(yes * np.log2(yes) + no * np.log2(no))).mean(axis=1)
    if measure == "margin":
        top_two = np.sort(scores, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    entropy = -(scores * np.log(scores)).sum(axis=1)
    return entropy / np.log(scores.shape[1])


def _nearest_to_centres(embeddings: np.ndarray, n: int, weights: np.ndarray | None, seed: int):
    """k-means into `n` groups; the index of the member nearest each centre."""
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=n, n_init=3, random_state=seed)
    assignment = kmeans.fit_predict(embeddings, sample_weight=weights)
    distances = np.linalg.norm(embeddings - kmeans.cluster_centers_[assignment], axis=1)
    chosen = []
    for cluster in range(n):
        members = np.flatnonzero(assignment == cluster)
        if len(members):
            chosen.append(int(members[np.argmin(distances[members])]))
    return np.array(chosen, dtype=np.int64)


def select(
    strategy: str,
    n: int,
    *,
    probabilities: np.ndarray,
    embeddings: np.ndarray | None = None,
    measure: str = "margin",
    multi_label: bool = False,
    seed: int = 0,
    candidate_factor: int = DEFAULT_CANDIDATE_FACTOR,
) -> np.ndarray:
    """Indices of the `n` rows to label, most worth labelling first."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    total = len(probabilities)
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    if n > total:
        raise ValueError(f"cannot choose {n} of {total} rows")
    if strategy == "random":
        return np.random.default_rng(seed).permutation(total)[:n]
    unsure = uncertainty(probabilities, measure, multi_label)
    most_unsure_first = np.argsort(-unsure, kind="stable")
    if strategy == "uncertainty" or n == total:
        return most_unsure_first[:n]
    if embeddings is None or len(embeddings) != total:
        raise ValueError(f"strategy {strategy!r} needs one embedding per row")
    if strategy == "diverse":
        candidates = np.arange(total)
        weights = None
    else:
        candidates = most_unsure_first[: min(total, candidate_factor * n)]
        weights = unsure[candidates] + 1e-6
    if len(candidates) == n:
        chosen = candidates
    else:
        chosen = candidates[_nearest_to_centres(embeddings[candidates], n, weights, seed)]
    if len(chosen) < n:  # k-means found fewer groups than asked (repeated points): top up
        rest = [index for index in most_unsure_first if index not in set(chosen.tolist())]
        chosen = np.concatenate([chosen, np.array(rest[: n - len(chosen)], dtype=np.int64)])
    return chosen[np.argsort(-unsure[chosen], kind="stable")]
