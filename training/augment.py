"""Target-swap augmentation for stance pairs (training.target_swap).

A stance model that has seen "Russia" mostly in sentences against Russia learns the name, not the
reading. A swapped copy pairs a training sentence with another target of the same type that the
sentence neither names nor was written for, labelled `none`: the same words, no stance toward that
target. Candidates are held back conservatively, since a wrong `none` teaches the opposite lesson:
a target paired with the same sentence anywhere in train, a target of the same group (the event or
storyline the sentence was written for), and a target any of whose words (four letters or more)
occurs in the sentence.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass, replace

from stanceframe.training.config import TargetSwapConfig
from stanceframe.training.data import Example, Split

_WORD = re.compile(r"[^\W\d_]{4,}")


@dataclass(frozen=True)
class SwapResult:
    split: Split
    added: int  # swapped copies added to the split
    without_candidate: int  # pairs drawn for a copy that had no safe target to swap in


def target_words(target: str) -> set[str]:
    """The words of a target name that, found in a sentence, mean it may speak of the target."""
    return {word.casefold() for word in _WORD.findall(target)}


def swap_targets(split: Split, config: TargetSwapConfig, seed: int) -> SwapResult:
    """The split with swapped copies of a seeded `config.fraction` of its pairs appended."""
    examples = split.examples
    targets_of_text: dict[str, set[str]] = defaultdict(set)
    targets_of_group: dict[str, set[str]] = defaultdict(set)
    type_of_target: dict[str, str | None] = {}
    for example in examples:
        assert example.target is not None, "target swap needs stance pairs"
        targets_of_text[example.text].add(example.target)
        if example.group is not None:
            targets_of_group[example.group].add(example.target)
        if type_of_target.get(example.target) is None:
            type_of_target[example.target] = example.target_type
    by_type: dict[str | None, list[str]] = defaultdict(list)
    for target in sorted(type_of_target):
        by_type[None].append(target)  # the pool for a pair whose target has no type
        if type_of_target[target] is not None:
            by_type[type_of_target[target]].append(target)
    words = {target: target_words(target) for target in type_of_target}

    rng = random.Random(seed)
    drawn = sorted(rng.sample(range(len(examples)), round(len(examples) * config.fraction)))
    copies: list[Example] = []
    without_candidate = 0
    for index in drawn:
        example = examples[index]
        sentence_words = {word.casefold() for word in _WORD.findall(example.text)}
        excluded = targets_of_text[example.text] | targets_of_group.get(example.group or "", set())
        candidates = [
            target
            for target in by_type[type_of_target[example.target]]
            if target not in excluded and not words[target] & sentence_words
        ]
        if not candidates:
            without_candidate += 1
            continue
        copies.append(
            replace(
                example,
                target=rng.choice(candidates),
                labels=[config.label],
                location=f"{example.location} (target swap)",
            )
        )
    augmented = Split(split.name, split.source, examples + copies, split.fingerprint)
    return SwapResult(augmented, len(copies), without_candidate)
