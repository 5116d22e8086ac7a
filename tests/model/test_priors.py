"""inference.priors: decisions shifted to a stream's label shares, and those shares estimated by EM."""

import numpy as np
import pytest

from stanceframe.model.priors import estimate_priors, parse_priors, shift_to_priors

LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]


def _calibrated_posteriors(prior: np.ndarray, n: int, seed: int):
    """Posteriors of a calibrated classifier: Gaussian class-conditional scores, Bayes' rule."""
    rng = np.random.default_rng(seed)
    k = len(prior)
    means = np.eye(k) * 2.0
    gold = rng.choice(k, size=n, p=prior)
    features = means[gold] + rng.normal(size=(n, k))
    log_likelihood = -0.5 * ((features[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    return gold, log_likelihood


def _posteriors(log_likelihood: np.ndarray, prior: np.ndarray) -> np.ndarray:
    joint = np.exp(log_likelihood - log_likelihood.max(1, keepdims=True)) * prior
    return joint / joint.sum(1, keepdims=True)


def test_shift_is_bayes_rule():
    training = np.array([0.25, 0.25, 0.25, 0.25])
    deployment = np.array([0.1, 0.05, 0.05, 0.8])
    scores = np.array([[0.4, 0.1, 0.1, 0.4]])
    shifted = shift_to_priors(scores, training, deployment)
    expected = scores * deployment / training
    np.testing.assert_allclose(shifted, expected / expected.sum(), rtol=1e-6)
    assert shifted[0].argmax() == 3


def test_shift_to_the_training_prior_changes_nothing():
    scores = np.array([[0.7, 0.1, 0.1, 0.1], [0.2, 0.3, 0.4, 0.1]])
    training = np.array([0.4, 0.2, 0.2, 0.2])
    np.testing.assert_allclose(shift_to_priors(scores, training, training), scores, rtol=1e-6)


def test_em_recovers_a_known_shift():
    training = np.full(4, 0.25)
    true_shift = np.array([0.1, 0.05, 0.05, 0.8])
    gold, log_likelihood = _calibrated_posteriors(true_shift, 4000, seed=0)
    scores = _posteriors(log_likelihood, training)  # the model's posteriors at its training prior
    estimate = estimate_priors(scores, training)
    assert estimate.converged
    np.testing.assert_allclose(estimate.priors, true_shift, atol=0.03)
    predicted_shares = np.bincount(scores.argmax(1), minlength=4) / len(scores)
    # counting the predicted labels is biased toward the training prior; EM is closer
    assert np.abs(estimate.priors - true_shift).sum() < np.abs(predicted_shares - true_shift).sum()
    # and shifting to the estimate raises accuracy on the shifted stream
    shifted = shift_to_priors(scores, training, estimate.priors)
    assert (shifted.argmax(1) == gold).mean() > (scores.argmax(1) == gold).mean()


def test_em_on_unshifted_text_stays_at_the_training_prior():
    training = np.array([0.3, 0.2, 0.2, 0.3])
    _, log_likelihood = _calibrated_posteriors(training, 4000, seed=1)
    estimate = estimate_priors(_posteriors(log_likelihood, training), training)
    np.testing.assert_allclose(estimate.priors, training, atol=0.03)


def test_parse_priors_normalises_and_names_mistakes(tmp_path):
    shares = parse_priors("accusation=1,denial=1,diplomatic_proposal=1,other=7", LABELS)
    assert shares == pytest.approx(
        {"accusation": 0.1, "denial": 0.1, "diplomatic_proposal": 0.1, "other": 0.7}
    )
    path = tmp_path / "priors.json"
    path.write_text('{"accusation": 2, "denial": 1, "diplomatic_proposal": 1, "other": 6}')
    assert parse_priors(str(path), LABELS)["other"] == pytest.approx(0.6)
    with pytest.raises(ValueError, match="'acusation' is not one of"):
        parse_priors("acusation=1,denial=1,diplomatic_proposal=1,other=7", LABELS)
    with pytest.raises(ValueError, match="missing: other"):
        parse_priors("accusation=1,denial=1,diplomatic_proposal=1", LABELS)
    with pytest.raises(ValueError, match="above 0"):
        parse_priors("accusation=0,denial=1,diplomatic_proposal=1,other=7", LABELS)


def test_classifier_priors_move_decisions_toward_the_common_label(framing_run):
    from stanceframe.model import Classifier

    classifier = Classifier.load(framing_run, device="cpu")
    texts = ["Moscow denied the report.", "Seoul proposed talks.", "The ministry met on Monday."]
    plain = classifier.predict_proba(texts)
    other_heavy = classifier.with_priors(
        {"accusation": 0.01, "denial": 0.01, "diplomatic_proposal": 0.01, "other": 0.97}
    )
    shifted = other_heavy.predict_proba(texts)
    other = classifier.labels.index("other")
    assert (shifted[:, other] > plain[:, other]).all()
    assert classifier.priors is None  # with_priors returns a copy
    with pytest.raises(ValueError, match="unknown labels"):
        classifier.with_priors({"blame": 1.0})


def test_training_records_the_prior_it_fitted(framing_run):
    import json

    meta = json.loads((framing_run / "stanceframe.json").read_text())
    prior = meta["training_prior"]
    assert set(prior) == set(LABELS) and sum(prior.values()) == pytest.approx(1.0)
    # class_weights: auto (inverse frequency) fits every label at the same weight
    assert max(prior.values()) - min(prior.values()) < 1e-6
