"""Checks shared by the corpus build script and the corpus tests: near-duplicates and label shares."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

FRAMING_LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]
FRAMING_TARGET_SHARES = {
    "other": 0.35,
    "accusation": 0.22,
    "denial": 0.21,
    "diplomatic_proposal": 0.22,
}
STANCE_LABELS = ["favor", "against", "none"]
NEAR_DUPLICATE_JACCARD = 0.6
WORD = re.compile(r"\w+", re.UNICODE)


def word_trigrams(text: str) -> frozenset[tuple[str, str, str]]:
    words = WORD.findall(text.lower())
    if len(words) < 3:
        return frozenset({tuple(words + [""] * (3 - len(words)))})
    return frozenset(zip(words, words[1:], words[2:], strict=False))


def jaccard(first: frozenset, second: frozenset) -> float:
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


def near_duplicate_pairs(
    texts: list[str], threshold: float = NEAR_DUPLICATE_JACCARD
) -> list[tuple[int, int, float]]:
    """All pairs (i, j, score) of distinct texts with word 3-gram Jaccard >= threshold.

    Candidate pairs come from an inverted index of 3-grams, so only texts that share a 3-gram are compared.
    """
    grams = [word_trigrams(text) for text in texts]
    index: dict[tuple, list[int]] = defaultdict(list)
    for position, text_grams in enumerate(grams):
        for gram in text_grams:
            index[gram].append(position)
    pairs = []
    for position, text_grams in enumerate(grams):
        shared = Counter()
        for gram in text_grams:
            for other in index[gram]:
                if other > position:
                    shared[other] += 1
        for other, overlap in shared.items():
            # the Jaccard bound from sizes alone prunes most candidates
            if (
                overlap / (len(text_grams) + len(grams[other]) - overlap) >= threshold
                and texts[position] != texts[other]
            ):
                pairs.append((position, other, jaccard(text_grams, grams[other])))
    return pairs


def max_cross_split_similarity(splits: dict[str, list[str]]) -> float:
    """Highest word 3-gram Jaccard between texts of different splits (exact duplicates included)."""
    texts, owners = [], []
    for name, split_texts in splits.items():
        texts += split_texts
        owners += [name] * len(split_texts)
    grams = [word_trigrams(text) for text in texts]
    index: dict[tuple, list[int]] = defaultdict(list)
    for position, text_grams in enumerate(grams):
        for gram in text_grams:
            index[gram].append(position)
    best = 0.0
    for position, text_grams in enumerate(grams):
        shared = Counter(
            other
            for gram in text_grams
            for other in index[gram]
            if other > position and owners[other] != owners[position]
        )
        for other, overlap in shared.items():
            best = max(best, overlap / (len(text_grams) + len(grams[other]) - overlap))
    return best


def similarity_to(texts: list[str]) -> Callable[[str], float]:
    """A function giving a text's highest word 3-gram Jaccard with any of `texts` (0.0: none shared)."""
    grams = [word_trigrams(text) for text in texts]
    index: dict[tuple, set[int]] = defaultdict(set)
    for position, text_grams in enumerate(grams):
        for gram in text_grams:
            index[gram].add(position)

    def highest(text: str) -> float:
        text_grams = word_trigrams(text)
        candidates = set().union(*(index.get(gram, set()) for gram in text_grams))
        return max((jaccard(text_grams, grams[i]) for i in candidates), default=0.0)

    return highest


def label_shares(labels: Iterable[str]) -> dict[str, float]:
    counts = Counter(labels)
    total = sum(counts.values()) or 1
    return {label: counts[label] / total for label in counts}
