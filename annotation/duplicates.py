"""Duplicates and near-duplicates among texts to annotate, and between them and labelled data.

Two texts are the same when they match after case, punctuation and spacing are set aside; near
duplicates when their word 3-gram Jaccard reaches the threshold the corpus build uses (0.6:
one sentence reworded in a few places). For stance pairs both must also have the same target.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from stanceframe.data.corpus_checks import NEAR_DUPLICATE_JACCARD, near_duplicate_pairs

_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """The text with case, punctuation and runs of spaces set aside."""
    kept = "".join(
        " " if unicodedata.category(char).startswith("P") else char
        for char in unicodedata.normalize("NFKC", text).casefold()
    )
    return _SPACE.sub(" ", kept).strip()


def _key(text: str, target: str | None) -> tuple[str, str]:
    return normalised(text), normalised(target) if target else ""


@dataclass
class DuplicateReport:
    # for each text: None, or the index of the earlier kept text it repeats (same list)
    of_earlier: list[int | None]
    # for each text: None, or the index of the labelled text it repeats
    of_labelled: list[int | None]

    @property
    def kept(self) -> list[int]:
        return [
            index
            for index, (earlier, labelled) in enumerate(
                zip(self.of_earlier, self.of_labelled, strict=True)
            )
            if earlier is None and labelled is None
        ]


def find_duplicates(
    texts: Sequence[str],
    targets: Sequence[str] | None = None,
    labelled_texts: Sequence[str] = (),
    labelled_targets: Sequence[str] | None = None,
    threshold: float | None = NEAR_DUPLICATE_JACCARD,
) -> DuplicateReport:
    """Which of `texts` repeat labelled data, and which repeat an earlier one of `texts` that is
    kept (the first of a group stays). `threshold` None: exact (normalised) repeats only."""
    keys = [_key(text, targets[i] if targets else None) for i, text in enumerate(texts)]
    labelled_keys = [
        _key(text, labelled_targets[i] if labelled_targets else None)
        for i, text in enumerate(labelled_texts)
    ]
    of_labelled: list[int | None] = [None] * len(texts)
    first_labelled: dict[tuple[str, str], int] = {}
    for index, key in enumerate(labelled_keys):
        first_labelled.setdefault(key, index)
    for index, key in enumerate(keys):
        of_labelled[index] = first_labelled.get(key)

    # near-duplicate pairs over labelled + texts together; the labelled rows come first
    near: dict[int, list[int]] = {}  # text index -> earlier indices (labelled: negative - 1)
    if threshold is not None:
        offset = len(labelled_texts)
        combined = [key[0] for key in labelled_keys] + [key[0] for key in keys]
        combined_targets = [key[1] for key in labelled_keys] + [key[1] for key in keys]
        for first, second, _ in near_duplicate_pairs(combined, threshold):
            if combined_targets[first] != combined_targets[second] or second < offset:
                continue
            earlier = first - offset if first >= offset else -first - 1
            near.setdefault(second - offset, []).append(earlier)
        for index, earlier in near.items():
            if of_labelled[index] is None:
                labelled = [-value - 1 for value in earlier if value < 0]
                if labelled:
                    of_labelled[index] = min(labelled)

    of_earlier: list[int | None] = [None] * len(texts)
    kept_by_key: dict[tuple[str, str], int] = {}
    kept: set[int] = set()
    for index, key in enumerate(keys):
        if of_labelled[index] is not None:
            continue
        if key in kept_by_key:
            of_earlier[index] = kept_by_key[key]
            continue
        repeated = sorted(value for value in near.get(index, []) if value >= 0 and value in kept)
        if repeated:
            of_earlier[index] = repeated[0]
            continue
        kept_by_key[key] = index
        kept.add(index)
    return DuplicateReport(of_earlier, of_labelled)
