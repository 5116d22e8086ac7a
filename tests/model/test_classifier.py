import numpy as np
import pytest

from stanceframe import Classifier, Prediction
from stanceframe.errors import RunDirError
from tests.conftest import FRAMING_LABELS

TEXTS = [
    "Moscow dismissed the report as fake news.",
    "Qatar offered to mediate.",
    "Three soldiers were killed when their vehicle hit a mine near the border on Monday evening.",
    "Beijing accused Manila of a provocation.",
    "Rain.",
]


@pytest.fixture(scope="module")
def classifier(framing_run):
    return Classifier.load(framing_run, device="cpu")


def test_predict_shapes_and_labels(classifier):
    predictions = classifier.predict(TEXTS, batch_size=2)
    assert len(predictions) == len(TEXTS)
    assert classifier.labels == FRAMING_LABELS
    for prediction in predictions:
        assert isinstance(prediction, Prediction)
        assert prediction.label in FRAMING_LABELS
        assert prediction.score == pytest.approx(max(prediction.scores.values()))
        assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_results_keep_input_order_whatever_the_batching(classifier):
    one_by_one = np.vstack([classifier.predict_proba([text]) for text in TEXTS])
    batched = classifier.predict_proba(TEXTS, batch_size=3)
    assert batched.shape == (len(TEXTS), len(FRAMING_LABELS))
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)
    reversed_scores = classifier.predict_proba(TEXTS[::-1], batch_size=2)
    np.testing.assert_allclose(reversed_scores[::-1], batched, atol=1e-5)


def test_empty_input_gives_empty_result(classifier):
    assert classifier.predict([]) == []
    assert classifier.predict_proba([]).shape == (0, len(FRAMING_LABELS))


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["fine", ""], r"texts\[1\] is empty"),
        (["fine", "  ", "x"], r"texts\[1\] is empty"),
        (["fine", None], r"texts\[1\] is NoneType"),
        ("a single string", "not one string"),
    ],
)
def test_bad_texts_raise_value_error_with_index(classifier, texts, message):
    with pytest.raises(ValueError, match=message):
        classifier.predict(texts)


def test_long_text_is_truncated_with_one_warning(classifier):
    long_text = "The ministry said " + "very " * 400 + "much."
    with pytest.warns(UserWarning, match="2 of 3 texts were longer than"):
        scores = classifier.predict_proba([long_text, "short", long_text])
    assert scores.shape == (3, 4)


def test_load_missing_run(tmp_path):
    with pytest.raises(RunDirError, match="not found"):
        Classifier.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirError, match="not a run directory"):
        Classifier.load(tmp_path / "empty")


def test_abstain_threshold_returns_fallback(framing_run):
    classifier = Classifier.load(framing_run)
    classifier.abstain_threshold, classifier.fallback_label = 0.99, "other"
    assert {p.label for p in classifier.predict(TEXTS)} == {"other"}


def test_stance_run_needs_targets(stance_run):
    classifier = Classifier.load(stance_run)
    assert classifier.labels == ["favor", "against", "none"]
    with pytest.raises(ValueError, match="pass targets"):
        classifier.predict(["NATO keeps Europe safe."])
    one_for_all = classifier.predict_proba(
        ["NATO keeps Europe safe.", "Sanctions work."], targets="NATO"
    )
    per_text = classifier.predict_proba(
        ["NATO keeps Europe safe.", "Sanctions work."], targets=["NATO", "NATO"]
    )
    np.testing.assert_allclose(one_for_all, per_text, atol=1e-6)
    with pytest.raises(ValueError, match="got 3 targets for 2 texts"):
        classifier.predict(["a", "b"], targets=["x", "y", "z"])
    # the target is part of the input: a different target changes the scores
    other_target = classifier.predict_proba(["NATO keeps Europe safe."], targets=["vaccination"])
    assert not np.allclose(other_target[0], one_for_all[0])
