"""eval/quantify.py: the weighted forms equal QuaPy's; the corrections recover known shifts that
classify-and-count misses; article resampling moves sentences of one article together."""

from __future__ import annotations

import numpy as np
import pytest

from stanceframe.eval import quantify

K = 3


def synthetic(rng: np.random.Generator, prior: np.ndarray, n: int, reference: np.ndarray):
    """Rows from one-dimensional Gaussian classes; posteriors are Bayes-exact under `reference`
    (so calibrated for data at those shares), decisions their argmax."""
    gold = rng.choice(K, size=n, p=prior)
    means = np.array([-2.0, 0.0, 2.0])
    features = rng.normal(means[gold], 1.0)
    likelihood = np.exp(-0.5 * (features[:, None] - means[None, :]) ** 2)
    posteriors = likelihood * reference
    posteriors /= posteriors.sum(axis=1, keepdims=True)
    return gold, posteriors.argmax(axis=1), posteriors


@pytest.fixture(scope="module")
def dev() -> quantify.DevStatistics:
    rng = np.random.default_rng(1)
    reference = np.full(K, 1 / K)
    gold, decisions, posteriors = synthetic(rng, reference, 3000, reference)
    return quantify.DevStatistics(["a", "b", "c"], gold, decisions, posteriors, "synthetic")


@pytest.fixture(scope="module")
def shifted():
    rng = np.random.default_rng(2)
    truth = np.array([0.1, 0.1, 0.8])
    gold, decisions, posteriors = synthetic(rng, truth, 4000, np.full(K, 1 / K))
    return truth, gold, decisions, posteriors


def test_weighted_em_equals_quapy_on_the_repeated_rows():
    from quapy.method.aggregative import EMQ

    rng = np.random.default_rng(0)
    posteriors = rng.dirichlet(np.ones(K), size=200)
    weights = rng.integers(0, 3, size=(4, 200))
    reference = np.array([[0.5, 0.3, 0.2]] * 4)
    ours = quantify.weighted_em(posteriors, weights, reference)
    for row in range(4):
        repeated = np.repeat(posteriors, weights[row], axis=0)
        theirs, _ = EMQ.EM(reference[row], repeated)
        np.testing.assert_allclose(ours[row], theirs, atol=1e-9)


@pytest.mark.parametrize("method", ["acc", "pacc", "em"])
def test_corrections_beat_classify_and_count_on_a_known_shift(dev, shifted, method):
    truth, _, decisions, posteriors = shifted
    ones = np.ones((1, len(decisions)))
    raw = quantify.estimate([quantify.fit("cc", dev)], decisions, posteriors, ones)[0]
    corrected = quantify.estimate([quantify.fit(method, dev)], decisions, posteriors, ones)[0]
    raw_error = np.abs(raw - truth).sum()
    corrected_error = np.abs(corrected - truth).sum()
    assert raw_error > 0.08  # the shift is real
    assert corrected_error < raw_error / 2
    assert corrected.sum() == pytest.approx(1.0)


def test_pcc_is_the_mean_posterior(dev, shifted):
    _, _, decisions, posteriors = shifted
    ones = np.ones((1, len(decisions)))
    pcc = quantify.estimate([quantify.fit("pcc", dev)], decisions, posteriors, ones)[0]
    np.testing.assert_allclose(pcc, posteriors.mean(axis=0))


def test_unknown_method_is_an_error(dev):
    with pytest.raises(ValueError, match="not one of"):
        quantify.fit("magic", dev)


def test_cluster_weights_move_an_article_s_rows_together():
    clusters = np.array([7, 7, 7, 3, 3, 9])
    weights = quantify.cluster_weights(clusters, 50, np.random.default_rng(0))
    assert weights.shape == (50, 6)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 1] == weights[:, 2]).all()
    assert (weights[:, 3] == weights[:, 4]).all()
    # each resample draws three articles
    assert (weights[:, [0, 3, 5]].sum(axis=1) == 3).all()


def test_intervals_cover_the_truth_and_are_deterministic(dev, shifted):
    truth, _, decisions, posteriors = shifted
    articles = np.arange(len(decisions)) // 4  # four sentences an article
    resampled = quantify.resample_dev("em", dev, 200, seed=0)
    first = quantify.estimate_group(
        resampled, decisions, posteriors, articles, np.random.default_rng(5)
    )
    again = quantify.estimate_group(
        quantify.resample_dev("em", dev, 200, seed=0),
        decisions,
        posteriors,
        articles,
        np.random.default_rng(5),
    )
    np.testing.assert_array_equal(first.low, again.low)
    assert first.articles == 1000 and first.sentences == 4000
    assert ((first.low <= truth) & (truth <= first.high)).sum() >= 2
    assert (first.low <= first.corrected).all() and (first.corrected <= first.high).all()
