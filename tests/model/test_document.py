import json
import math
import re

import pytest

from stanceframe.model import Classifier
from stanceframe.model.document import (
    DocumentResult,
    SentenceResult,
    analyze_texts,
    build_profile,
)
from stanceframe.model.document_html import IndexEntry, render_article, render_index
from tests.conftest import FRAMING_LABELS

ARTICLE = (
    "KYIV (Reuters) - Ukraine denied the report. Gen. Smith accused Moscow of shelling the port.\n\n"
    "Turkey offered to host talks in Istanbul. Officials said 3.5 mln. tonnes were at stake."
)


@pytest.fixture(scope="module")
def classifier(framing_run) -> Classifier:
    return Classifier.load(framing_run, device="cpu")


def sentence(index: int, label: str, scores: dict[str, float]) -> SentenceResult:
    return SentenceResult(index, f"s{index}", 0, 2, label, scores[label], scores, [label])


def test_profile_counts_shares_weights_and_strongest():
    labels = ["accusation", "denial", "other"]
    sentences = [
        sentence(0, "accusation", {"accusation": 0.6, "denial": 0.1, "other": 0.3}),
        sentence(1, "accusation", {"accusation": 0.9, "denial": 0.05, "other": 0.05}),
        sentence(2, "other", {"accusation": 0.2, "denial": 0.2, "other": 0.6}),
        sentence(3, "denial", {"accusation": 0.3, "denial": 0.4, "other": 0.3}),
    ]
    profile = build_profile(sentences, labels)
    assert profile.sentences == 4
    assert profile.counts == {"accusation": 2, "denial": 1, "other": 1}
    assert profile.shares == {"accusation": 0.5, "denial": 0.25, "other": 0.25}
    assert profile.weighted_shares["accusation"] == pytest.approx((0.6 + 0.9 + 0.2 + 0.3) / 4)
    assert profile.weighted_shares["denial"] == pytest.approx((0.1 + 0.05 + 0.2 + 0.4) / 4)
    assert sum(profile.weighted_shares.values()) == pytest.approx(1.0)
    assert profile.strongest["accusation"].index == 1
    assert profile.strongest["accusation"].score == pytest.approx(0.9)
    assert profile.strongest["denial"].index == 3


def test_profile_of_no_sentences_is_all_zero():
    profile = build_profile([], FRAMING_LABELS)
    assert profile.sentences == 0
    assert set(profile.shares.values()) == {0.0}
    assert set(profile.strongest.values()) == {None}


def test_analyze_splits_labels_and_profiles_an_article(classifier):
    result = classifier.analyze(ARTICLE)
    assert isinstance(result, DocumentResult)
    assert result.dateline.text == "KYIV (Reuters) -"
    assert [s.text for s in result.sentences] == [
        "Ukraine denied the report.",
        "Gen. Smith accused Moscow of shelling the port.",
        "Turkey offered to host talks in Istanbul.",
        "Officials said 3.5 mln. tonnes were at stake.",
    ]
    for index, item in enumerate(result.sentences):
        assert item.index == index
        assert ARTICLE[item.start : item.end] == item.text
        assert item.label in FRAMING_LABELS and set(item.scores) == set(FRAMING_LABELS)
        assert item.score == pytest.approx(max(item.scores.values()))
    # The labels are the model's own, sentence by sentence.
    direct = classifier.predict([s.text for s in result.sentences])
    assert [s.label for s in result.sentences] == [p.label for p in direct]
    profile = result.profile
    assert profile.sentences == 4 and sum(profile.counts.values()) == 4
    assert math.isclose(sum(profile.shares.values()), 1.0)
    assert math.isclose(sum(profile.weighted_shares.values()), 1.0, rel_tol=1e-5)
    for label, best in profile.strongest.items():
        labelled = [s for s in result.sentences if s.label == label]
        if not labelled:
            assert best is None
        else:
            assert best.score == pytest.approx(max(s.scores[label] for s in labelled))


def test_to_dict_is_json_and_leaves_the_text_out_unless_asked(classifier):
    result = classifier.analyze(ARTICLE)
    data = json.loads(json.dumps(result.to_dict()))
    assert "text" not in data and data["dateline"]["end"] == 16
    assert len(data["sentences"]) == 4
    assert result.to_dict(include_text=True)["text"] == ARTICLE


def test_many_articles_in_one_pass_match_one_at_a_time(classifier):
    articles = [ARTICLE, "Moscow denied everything.", "MOSCOW, May 2. /TASS/."]
    together = analyze_texts(classifier, articles, ids=["a", "b", "c"])
    assert [result.id for result in together] == ["a", "b", "c"]
    for text, result in zip(articles, together, strict=True):
        alone = classifier.analyze(text)
        assert [s.label for s in result.sentences] == [s.label for s in alone.sentences]
        assert result.profile.counts == alone.profile.counts
    assert together[2].sentences == [] and together[2].profile.sentences == 0


def test_targets_are_checked_against_the_model(classifier, stance_run):
    with pytest.raises(ValueError, match="takes no target"):
        classifier.analyze(ARTICLE, target="NATO")
    with pytest.raises(ValueError, match="not one string"):
        analyze_texts(classifier, ARTICLE)
    stance = Classifier.load(stance_run, device="cpu")
    with pytest.raises(ValueError, match="stance model"):
        stance.analyze(ARTICLE)
    result = stance.analyze(ARTICLE, target="Russia")
    assert result.target == "Russia"
    assert set(result.profile.counts) == {"favor", "against", "none"}
    paired = stance.predict([s.text for s in result.sentences], "Russia")
    assert [s.label for s in result.sentences] == [p.label for p in paired]


def test_article_page_is_self_contained_escaped_and_highlighted(classifier):
    text = 'WASHINGTON (AP) — Officials denied <script>alert("x")</script> it. Kyiv proposed talks.'
    result = classifier.analyze(text)
    page = render_article(result, classifier.labels, title="a <b> title", model_name="tiny")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "a &lt;b&gt; title" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched from outside
    assert '<span class="dateline">WASHINGTON (AP) —</span>' in page
    for item in result.sentences:
        span = re.search(rf'<span class="s[^"]*" id="s{item.index}"[^>]*>', page).group(0)
        assert f'data-label="{item.label}"' in span
        assert f"{item.score:.3f}" in span  # the hover tooltip carries the scores
    for label in classifier.labels:
        assert label.replace("_", " ") in page  # legend and profile table


def test_index_page_links_each_article(classifier):
    result = classifier.analyze(ARTICLE)
    page = render_index(
        [IndexEntry("first & best", "html/first.html", result.profile)], classifier.labels
    )
    assert 'href="html/first.html"' in page and "first &amp; best" in page
