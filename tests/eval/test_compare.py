import numpy as np

from stanceframe.eval.compare import _aligned
from stanceframe.eval.evaluate import SplitPredictions


def test_a_run_with_another_label_order_is_aligned_by_name():
    own = ["other", "denial", "accusation"]
    wanted = ["accusation", "denial", "other"]
    predictions = SplitPredictions(
        gold=np.array([0, 2]),  # other, accusation
        scores=np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]),
        predicted=np.array([0, 1]),  # other, denial
        abstained=np.array([False, False]),
    )
    aligned = _aligned(predictions, own, wanted)
    assert [wanted[i] for i in aligned.gold] == ["other", "accusation"]
    assert [wanted[i] for i in aligned.predicted] == ["other", "denial"]
    np.testing.assert_allclose(aligned.scores[0], [0.1, 0.2, 0.7])
    multi = SplitPredictions(
        gold=np.array([[1, 0, 1]]),
        scores=np.array([[0.9, 0.1, 0.8]]),
        predicted=np.array([[1, 1, 0]]),
        abstained=np.array([False]),
    )
    aligned = _aligned(multi, own, wanted)
    assert aligned.gold.tolist() == [[1, 0, 1]] and aligned.predicted.tolist() == [[0, 1, 1]]
