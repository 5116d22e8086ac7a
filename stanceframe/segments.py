"""How a row becomes the model's input: the one rule, shared by training and inference, for which
segment comes first and what truncation may cut."""

from __future__ import annotations

from collections.abc import Sequence

Texts = Sequence[str]


def pair_segments(
    texts: Texts,
    targets: Texts | None = None,
    contexts: Texts | None = None,
    *,
    target_first: bool = False,
) -> tuple[Texts, Texts | None, str | bool]:
    """(first segment, second segment, truncation) for the tokenizer.

    A target is kept whole and the text is cut, on whichever side the run puts the target; a
    previous sentence (article context) is cut before the sentence itself; a text alone is cut.
    """
    if targets is not None:
        return (targets, texts, "only_second") if target_first else (texts, targets, "only_first")
    if contexts is not None:
        return texts, contexts, "longest_first"
    return texts, None, True
