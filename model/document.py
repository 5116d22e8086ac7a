"""Label a whole article: split it into sentences, label each, and sum them up as a framing profile.

`analyze_texts` labels the sentences of many articles in one batched pass; `Classifier.analyze` is
the one-article shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stanceframe.model.sentences import Span, SplitText, split_sentences

if TYPE_CHECKING:
    from stanceframe.model.classifier import Classifier, Prediction


@dataclass
class SentenceResult:
    index: int
    text: str
    start: int  # character offsets into the article as given: article[start:end] == text
    end: int
    label: str
    score: float
    scores: dict[str, float]
    labels: list[str]  # every label over threshold (multi-label runs); [label] otherwise


@dataclass
class StrongestSentence:
    index: int
    text: str
    score: float


@dataclass
class Profile:
    """How an article's sentences spread over the labels.

    `shares` count each sentence once under its label; `weighted_shares` are the mean score of each
    label over all sentences, so a hesitant sentence counts less than a clear one (they sum to 1 for
    single-label runs). `strongest` is the sentence labelled so with the highest score, or None.
    """

    sentences: int
    counts: dict[str, int]
    shares: dict[str, float]
    weighted_shares: dict[str, float]
    strongest: dict[str, StrongestSentence | None]


@dataclass
class DocumentResult:
    text: str
    dateline: Span | None
    sentences: list[SentenceResult]
    profile: Profile
    id: str | None = None
    target: str | None = None

    def to_dict(self, include_text: bool = False) -> dict[str, Any]:
        """JSON-ready; the article text is left out unless asked for (offsets point into it)."""
        result = asdict(self)
        if not include_text:
            del result["text"]
        return result


def build_profile(sentences: Sequence[SentenceResult], label_names: Sequence[str]) -> Profile:
    total = len(sentences)
    counts = dict.fromkeys(label_names, 0)
    score_sums = dict.fromkeys(label_names, 0.0)
    strongest: dict[str, StrongestSentence | None] = dict.fromkeys(label_names)
    for sentence in sentences:
        counts[sentence.label] += 1
        for label in label_names:
            score_sums[label] += sentence.scores[label]
        best = strongest[sentence.label]
        label_score = sentence.scores[sentence.label]
        if best is None or label_score > best.score:
            strongest[sentence.label] = StrongestSentence(
                sentence.index, sentence.text, label_score
            )
    return Profile(
        sentences=total,
        counts=counts,
        shares={label: counts[label] / total if total else 0.0 for label in label_names},
        weighted_shares={
            label: score_sums[label] / total if total else 0.0 for label in label_names
        },
        strongest=strongest,
    )


def _sentence_result(index: int, span: Span, prediction: Prediction) -> SentenceResult:
    return SentenceResult(
        index=index,
        text=span.text,
        start=span.start,
        end=span.end,
        label=prediction.label,
        score=prediction.score,
        scores=prediction.scores,
        labels=prediction.labels,
    )


def assemble_document(
    text: str,
    split: SplitText,
    predictions: Sequence[Prediction],
    label_names: Sequence[str],
    *,
    article_id: str | None = None,
    target: str | None = None,
) -> DocumentResult:
    """The result for one article from its split and one prediction per sentence."""
    sentences = [
        _sentence_result(index, span, prediction)
        for index, (span, prediction) in enumerate(zip(split.sentences, predictions, strict=True))
    ]
    return DocumentResult(
        text=text,
        dateline=split.dateline,
        sentences=sentences,
        profile=build_profile(sentences, label_names),
        id=article_id,
        target=target,
    )


def previous_sentences(sentences: Sequence[str]) -> list[str | None]:
    """Each sentence's predecessor in its article (None for the first): a context run's input."""
    return [None, *sentences[:-1]] if sentences else []


def analyze_texts(
    classifier: Classifier,
    texts: Sequence[str],
    *,
    targets: Sequence[str | None] | str | None = None,
    ids: Sequence[str | None] | None = None,
    batch_size: int = 32,
    language: str = "en",
) -> list[DocumentResult]:
    """One `DocumentResult` per article; all their sentences go through the model in one pass.

    Stance runs need a target per article (or one `str` for all); it is paired with each sentence.
    """
    if isinstance(texts, str):
        raise ValueError("texts must be a list of articles, not one string; use Classifier.analyze")
    if targets is None or isinstance(targets, str):
        targets = [targets] * len(texts)
    if len(targets) != len(texts):
        raise ValueError(f"got {len(targets)} targets for {len(texts)} articles")
    ids = list(ids) if ids is not None else [None] * len(texts)
    for index, (text, target) in enumerate(zip(texts, targets, strict=True)):
        if not isinstance(text, str):
            raise ValueError(f"article {index} is {type(text).__name__}, not a string")
        if classifier.needs_target and not (isinstance(target, str) and target.strip()):
            raise ValueError(f"article {index}: this is a stance model; give a target")
        if not classifier.needs_target and target is not None:
            raise ValueError("this model labels sentences on their own; it takes no target")
    splits = [split_sentences(text, language) for text in texts]
    sentence_texts = [span.text for split in splits for span in split.sentences]
    sentence_targets = [
        target for split, target in zip(splits, targets, strict=True) for _ in split.sentences
    ]
    # a context run reads each sentence after the one before it in the same article
    sentence_contexts = [
        context
        for split in splits
        for context in previous_sentences([span.text for span in split.sentences])
    ]
    predictions = (
        classifier.predict(
            sentence_texts,
            sentence_targets if classifier.needs_target else None,
            batch_size=batch_size,
            contexts=sentence_contexts,
        )
        if sentence_texts
        else []
    )
    results = []
    position = 0
    for text, split, target, article_id in zip(texts, splits, targets, ids, strict=True):
        count = len(split.sentences)
        results.append(
            assemble_document(
                text,
                split,
                predictions[position : position + count],
                classifier.labels,
                article_id=article_id,
                target=target,
            )
        )
        position += count
    return results
