import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    brier_score_loss,
    f1_score,
    precision_recall_fscore_support,
)

from stanceframe.eval import bootstrap
from stanceframe.metrics import (
    calibration_metrics,
    classification_metrics,
    expected_calibration_error,
    f_avg,
    multilabel_metrics,
    per_target_scores,
    reliability_bins,
)

LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]
# A fixed fixture: 12 rows, every kind of confusion, one label never predicted.
GOLD = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3])
PREDICTED = np.array([0, 0, 1, 1, 1, 3, 3, 3, 3, 3, 0, 3])


def test_classification_metrics_agree_with_scikit_learn():
    scores = classification_metrics(GOLD, PREDICTED, LABELS)
    assert scores["n"] == 12
    assert scores["accuracy"] == pytest.approx(accuracy_score(GOLD, PREDICTED))
    assert scores["macro_f1"] == pytest.approx(
        f1_score(GOLD, PREDICTED, average="macro", zero_division=0)
    )
    for average in ("macro", "micro", "weighted"):
        precision, recall, f1, _ = precision_recall_fscore_support(
            GOLD, PREDICTED, average=average, zero_division=0
        )
        assert scores[average] == pytest.approx(
            {"precision": precision, "recall": recall, "f1": f1}
        )
    # hand-checked: denial P 2/3 R 2/3; diplomatic_proposal never predicted
    assert scores["per_label"]["denial"]["precision"] == pytest.approx(2 / 3)
    assert scores["per_label"]["diplomatic_proposal"] == {
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "support": 2,
    }
    assert scores["confusion_matrix"]["labels"] == LABELS
    assert scores["confusion_matrix"]["matrix"][3] == [1, 0, 0, 3]


def test_multilabel_metrics_agree_with_scikit_learn():
    gold = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    predicted = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 1]])
    scores = multilabel_metrics(gold, predicted, ["a", "b", "c"])
    assert scores["subset_accuracy"] == pytest.approx(0.25)
    assert scores["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    assert scores["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro"))
    assert scores["per_label"]["c"]["recall"] == pytest.approx(0.5)


def test_ece_on_hand_checkable_inputs():
    # two bins used: 0.9 (4 rows, 3 right: gap 0.15) and 0.6 (2 rows, both right: gap 0.4)
    confidences = np.array([0.9, 0.9, 0.9, 0.9, 0.6, 0.6])
    correct = np.array([1, 1, 1, 0, 1, 1])
    expected = 4 / 6 * 0.15 + 2 / 6 * 0.4
    assert expected_calibration_error(confidences, correct, n_bins=15) == pytest.approx(expected)
    bins = reliability_bins(confidences, correct, n_bins=15)
    assert len(bins) == 15 and sum(bin_["count"] for bin_ in bins) == 6
    assert bins[13]["count"] == 4 and bins[13]["accuracy"] == pytest.approx(0.75)
    # a bin's upper edge belongs to it: confidence 1.0 is in the last bin, 1/15 in the first
    edges = reliability_bins(np.array([1.0, 1 / 15]), np.array([1, 1]), n_bins=15)
    assert edges[14]["count"] == 1 and edges[0]["count"] == 1
    assert expected_calibration_error(np.array([0.75] * 4), np.array([1, 1, 1, 0])) == 0.0


def test_brier_and_log_loss_follow_their_definitions():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.25, 0.25]])
    gold = np.array([0, 1, 0, 2])
    scores = calibration_metrics(probabilities, gold, multi_label=False)
    one_hot = np.eye(3)[gold]
    assert scores["brier"] == pytest.approx(((probabilities - one_hot) ** 2).sum(axis=1).mean())
    assert scores["brier"] == pytest.approx(
        brier_score_loss(gold, probabilities, labels=[0, 1, 2], scale_by_half=False)
    )
    assert scores["log_loss"] == pytest.approx(-np.log(probabilities[range(4), gold]).mean())
    assert scores["mean_confidence"] == pytest.approx((0.7 + 0.8 + 0.4 + 0.5) / 4)


def test_multilabel_calibration_treats_each_label_as_a_binary_decision():
    scores = np.array([[0.9, 0.2], [0.6, 0.7]])
    gold = np.array([[1, 0], [0, 1]])
    found = calibration_metrics(scores, gold, multi_label=True)
    assert found["brier"] == pytest.approx(((scores - gold) ** 2).mean())
    # confidences 0.9, 0.8, 0.6, 0.7 with correct 1, 1, 0, 1
    expected = expected_calibration_error(np.array([0.9, 0.8, 0.6, 0.7]), np.array([1, 1, 0, 1]))
    assert found["ece"] == pytest.approx(expected)


def test_f_avg_is_the_mean_f1_of_favor_and_against():
    labels = ["favor", "against", "none"]
    gold = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    favor, against = f1_score(gold, predicted, labels=[0, 1], average=None)
    assert f_avg(gold, predicted, labels) == pytest.approx((favor + against) / 2)
    assert f_avg(GOLD, PREDICTED, LABELS) is None
    per_target = per_target_scores(gold, predicted, ["x", "x", "x", "y", "y", "y"], labels)
    assert list(per_target) == ["x", "y"] and per_target["x"]["n"] == 3
    assert per_target["x"]["accuracy"] == pytest.approx(2 / 3)


def test_resampled_f1_agrees_with_scikit_learn_on_every_resample():
    rng = np.random.default_rng(3)
    gold, predicted = rng.integers(0, 4, 60), rng.integers(0, 4, 60)
    indices = bootstrap.resample_indices(60, 25, seed=1)
    fast = bootstrap.single_label_f1(gold, predicted, 4, indices).mean(axis=1)
    slow = [
        f1_score(gold[row], predicted[row], labels=[0, 1, 2, 3], average="macro", zero_division=0)
        for row in indices
    ]
    np.testing.assert_allclose(fast, slow)
    multi_gold, multi_predicted = rng.integers(0, 2, (60, 3)), rng.integers(0, 2, (60, 3))
    fast = bootstrap.multi_label_f1(multi_gold, multi_predicted, indices).mean(axis=1)
    slow = [
        f1_score(multi_gold[row], multi_predicted[row], average="macro", zero_division=0)
        for row in indices
    ]
    np.testing.assert_allclose(fast, slow)


def test_bootstrap_intervals_are_seeded_and_contain_the_estimate():
    scorers = bootstrap.scorers(GOLD, PREDICTED, LABELS, multi_label=False)
    first = bootstrap.percentile_intervals(scorers, len(GOLD), resamples=1000, seed=7)
    again = bootstrap.percentile_intervals(scorers, len(GOLD), resamples=1000, seed=7)
    other_seed = bootstrap.percentile_intervals(scorers, len(GOLD), resamples=1000, seed=8)
    assert first == again
    assert first != other_seed
    accuracy = accuracy_score(GOLD, PREDICTED)
    assert first["accuracy"]["low"] <= accuracy <= first["accuracy"]["high"]
    assert first["accuracy"]["high"] - first["accuracy"]["low"] > 0.2  # 12 rows: wide
    macro = f1_score(GOLD, PREDICTED, average="macro", zero_division=0)
    assert first["macro_f1"]["low"] <= macro <= first["macro_f1"]["high"]


def test_paired_bootstrap_p_value_behaves():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 300)
    labels = ["favor", "against", "none"]
    noisy = np.where(rng.random(300) < 0.5, gold, rng.integers(0, 3, 300))
    good = np.where(rng.random(300) < 0.9, gold, rng.integers(0, 3, 300))

    def macro(predicted):
        return bootstrap.scorers(gold, predicted, labels, False)["macro_f1"]

    same = bootstrap.paired_bootstrap(macro(noisy), macro(noisy), 300, seed=1)
    assert same.difference == 0 and same.p_value == 1.0 and same.interval == (0.0, 0.0)
    better = bootstrap.paired_bootstrap(macro(noisy), macro(good), 300, seed=1)
    assert better.difference > 0.2 and better.p_value < 0.01
    assert better.interval[0] > 0
    reverse = bootstrap.paired_bootstrap(macro(good), macro(noisy), 300, seed=1)
    assert reverse.difference == pytest.approx(-better.difference)
