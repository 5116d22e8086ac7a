import numpy as np

from stanceframe.eval.baselines import (
    KeywordLexiconBaseline,
    LabelledTexts,
    MajorityBaseline,
    TfidfLogisticBaseline,
    default_baselines,
)
from tests.conftest import FRAMING_LABELS

STANCE_LABELS = ["favor", "against", "none"]


def _stance_data(copies: int = 4) -> LabelledTexts:
    rows = [
        ("We strongly support the treaty and welcome it.", "treaty", 0),
        ("The minister praised the plan as a great success.", "plan", 0),
        ("Critics oppose the treaty and condemn its terms.", "treaty", 1),
        ("The union rejected the plan as a disaster.", "plan", 1),
        ("The treaty was signed on Monday in Geneva.", "treaty", 2),
        ("The plan has fourteen chapters.", "plan", 2),
    ] * copies
    return LabelledTexts([r[0] for r in rows], [r[1] for r in rows], np.array([r[2] for r in rows]))


def test_majority_predicts_the_most_frequent_training_label():
    train = LabelledTexts(["a", "b", "c"], None, np.array([3, 3, 1]))
    predicted = MajorityBaseline().fit(train).predict(["x", "y"], None)
    assert predicted.tolist() == [3, 3]
    multi = LabelledTexts(["a", "b", "c"], None, np.array([[1, 0], [1, 0], [1, 1]]))
    assert MajorityBaseline(multi_label=True).fit(multi).predict(["x"], None).tolist() == [[1, 0]]


def test_keyword_lexicon_uses_the_framing_cues_and_falls_back_to_majority():
    train = LabelledTexts(["x"] * 3, None, np.array([3, 3, 0]))
    lexicon = KeywordLexiconBaseline(label_names=FRAMING_LABELS).fit(train)
    assert "LABELS.md" in lexicon.description
    texts = [
        "Moscow denied the charges and blamed Kyiv.",  # one cue each: denial wins the tie
        "Beijing accused Manila of violating its waters.",
        "Qatar offered to mediate talks between the two sides.",
        "Heavy rain flooded the capital.",
    ]
    predicted = [FRAMING_LABELS[i] for i in lexicon.predict(texts, None)]
    assert predicted == ["denial", "accusation", "diplomatic_proposal", "other"]


def test_keyword_lexicon_learns_words_for_other_label_sets():
    train = _stance_data()
    lexicon = KeywordLexiconBaseline(label_names=STANCE_LABELS).fit(train)
    assert "log-odds" in lexicon.description
    assert "support" in lexicon.lexicon["favor"] and "oppose" in lexicon.lexicon["against"]
    predicted = lexicon.predict(["They support it.", "They oppose it.", "Nothing here."], None)
    assert predicted.tolist()[:2] == [0, 1]


def test_tfidf_logistic_regression_learns_and_picks_c_on_dev():
    train = _stance_data()
    baseline = TfidfLogisticBaseline().fit(train, dev=_stance_data(copies=1))
    assert "chosen on dev" in baseline.description
    predicted = baseline.predict(train.texts, train.targets)
    assert (predicted == train.gold).mean() == 1.0
    without_dev = TfidfLogisticBaseline().fit(train)
    assert "C=10.0" in without_dev.description


def test_all_baselines_handle_multi_label_data():
    texts = ["denied and accused", "accused them", "proposed talks", "nothing"] * 5
    gold = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]] * 5)
    train = LabelledTexts(texts, None, gold)
    for baseline in default_baselines(["accusation", "denial", "diplomatic_proposal"], True):
        predicted = baseline.fit(train, train).predict(texts, None)
        assert predicted.shape == gold.shape, baseline.name
