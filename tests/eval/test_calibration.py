import json
import shutil

import numpy as np
import pytest
import torch

from stanceframe import Classifier
from stanceframe.eval.calibration import (
    calibrate_run,
    fit_temperature,
    logits_from_scores,
    negative_log_likelihood,
    reset_calibration,
)
from stanceframe.metrics import calibration_metrics
from tests.conftest import FIXTURES


def overconfident_logits(n_rows: int = 3000, n_labels: int = 4, seed: int = 0):
    """Gold drawn from softmax(z), logits 3z: a calibrated model made three times too sure."""
    rng = np.random.default_rng(seed)
    true_logits = rng.normal(0, 1.5, (n_rows, n_labels))
    true_scores = torch.softmax(torch.from_numpy(true_logits), dim=-1).numpy()
    gold = np.array([rng.choice(n_labels, p=row / row.sum()) for row in true_scores])
    return true_logits * 3.0, gold


def _ece(logits, gold, temperature):
    scores = torch.softmax(torch.from_numpy(logits / temperature), dim=-1).numpy()
    return calibration_metrics(scores, gold, multi_label=False)["ece"]


def test_temperature_scaling_fixes_an_overconfident_model():
    logits, gold = overconfident_logits()
    temperature = fit_temperature(logits, gold)
    assert temperature == pytest.approx(3.0, rel=0.15)
    assert negative_log_likelihood(logits, gold, temperature, False) < negative_log_likelihood(
        logits, gold, 1.0, False
    )
    before, after = _ece(logits, gold, 1.0), _ece(logits, gold, temperature)
    assert before > 0.15 and after < 0.04
    # argmax, hence every label, is unchanged
    np.testing.assert_array_equal((logits / temperature).argmax(1), logits.argmax(1))


def test_temperature_below_one_for_an_underconfident_model():
    logits, gold = overconfident_logits()
    assert fit_temperature(logits / 20.0, gold) < 1.0


def test_multilabel_temperature():
    rng = np.random.default_rng(1)
    gold = rng.integers(0, 2, (1000, 3))
    logits = np.where(rng.random((1000, 3)) < 0.8, 2 * gold - 1, 1 - 2 * gold) * 6.0
    temperature = fit_temperature(logits, gold, multi_label=True)
    assert temperature > 2.0
    assert negative_log_likelihood(logits, gold, temperature, True) < negative_log_likelihood(
        logits, gold, 1.0, True
    )


def test_logits_recovered_from_scores_give_back_the_scores():
    logits = np.array([[2.0, -1.0, 0.5], [10.0, 0.0, -10.0]])
    scores = torch.softmax(torch.from_numpy(logits), dim=-1).numpy().astype(np.float32)
    recovered = torch.softmax(torch.from_numpy(logits_from_scores(scores, False)), -1).numpy()
    np.testing.assert_allclose(recovered, scores, rtol=1e-5, atol=1e-7)
    sigmoid_scores = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(logits_from_scores(sigmoid_scores, True), logits, atol=1e-6)


@pytest.fixture
def run_copy(framing_run, tmp_path):
    return shutil.copytree(framing_run, tmp_path / "run")


def test_calibrate_run_stores_temperature_that_the_classifier_uses(run_copy):
    texts = ["Moscow dismissed the report as fake news.", "Qatar offered to mediate."]
    before = Classifier.load(run_copy).predict_proba(texts)
    result = calibrate_run(run_copy, str(FIXTURES / "framing_small.jsonl"))
    assert result.n == 40 and result.previous_temperature is None
    assert result.nll_after <= result.nll_before + 1e-9
    meta = json.loads((run_copy / "stanceframe.json").read_text())
    assert meta["temperature"] == pytest.approx(result.temperature)
    assert meta["calibration"]["data_fingerprint"]["rows"] == 40
    assert not list(run_copy.glob("*.tmp"))
    assert result.warnings and "test split" in result.warnings[0]  # the fixture is also its test
    after = Classifier.load(run_copy).predict_proba(texts)
    expected = torch.softmax(
        torch.from_numpy(np.log(before.astype(np.float64)) / result.temperature), -1
    ).numpy()
    np.testing.assert_allclose(after, expected, atol=1e-4)
    np.testing.assert_array_equal(after.argmax(1), before.argmax(1))
    assert reset_calibration(run_copy) == pytest.approx(result.temperature)
    np.testing.assert_allclose(Classifier.load(run_copy).predict_proba(texts), before, atol=1e-6)


def test_calibrate_defaults_to_the_runs_dev_split(run_copy):
    result = calibrate_run(run_copy)
    assert result.data.startswith("dev split") and result.n == 6  # 15% of the 40 fixture rows
    assert result.warnings == []
