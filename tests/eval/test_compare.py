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


def test_the_comparison_markdown_lists_disagreements_with_pipes_escaped():
    from stanceframe.eval.compare import Comparison, render_comparison_markdown

    def side(path, f1s):
        return {
            "path": path,
            "accuracy": 0.8,
            "per_label_f1": dict(zip(["denial", "other"], f1s, strict=True)),
        }

    test = {"a": 0.7, "b": 0.65, "b_minus_a": -0.05, "interval": {"low": -0.1, "high": 0.01}}
    summary = {
        "data": {"source": "dev.jsonl"},
        "n": 4,
        "labels": ["denial", "other"],
        "multi_label": False,
        "a": side("runs/a", [0.6, 0.8]),
        "b": side("runs/b", [0.5, 0.8]),
        "paired_bootstrap": {
            "macro_f1": {**test, "p_value": 0.2},
            "accuracy": {**test, "p_value": 0.5},
        },
        "agreement": {
            "both_right": 2,
            "only_a_right": 1,
            "only_b_right": 0,
            "both_wrong": 0,
            "disagree": 2,
            "mcnemar_exact_p": 1.0,
        },
    }
    disagreement = {"gold": "denial", "a": "denial", "a_score": 0.91, "b": "other", "b_score": 0.55}
    rows = [
        {**disagreement, "text": "Kyiv | Moscow denied it.", "target": "Kyiv", "right": "a"},
        {**disagreement, "text": "Talks went on.", "target": None, "right": "b"},
    ]
    markdown = render_comparison_markdown(Comparison(summary, rows), shown=1)
    assert "| macro-F1 | 0.700 | 0.650 | -0.050 | -0.100 to +0.010 | 0.200 |\n" in markdown
    assert "| `denial` | 0.600 | 0.500 | -0.100 |\n" in markdown
    assert "1 of 2 (all are in disagreements.jsonl)" in markdown
    assert (
        "| **[Kyiv]** Kyiv \\| Moscow denied it. | denial | denial (0.91) | other (0.55) | a |\n"
        in markdown
    )
    assert "Talks went on." not in markdown and markdown.endswith("| a |\n")
    assert "Nowhere: both runs" in render_comparison_markdown(Comparison(summary, []))
