"""The bundled corpora meet their specification (issue: bundled framing and stance corpora)."""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

DATA = Path(__file__).parent.parent / "data"
sys.path.insert(0, str(DATA))
from corpus_checks import (  # noqa: E402
    FRAMING_LABELS,
    FRAMING_TARGET_SHARES,
    NEAR_DUPLICATE_JACCARD,
    STANCE_LABELS,
    max_cross_split_similarity,
)

SPLITS = ("train", "dev", "test")
FRAMING_DOMAINS = {
    "diplomacy",
    "armed_conflict",
    "domestic_politics",
    "courts",
    "business",
    "sport",
    "labour",
    "health",
    "environment",
    "technology",
    "media",
    "migration",
    "energy",
    "human_rights",
}


def read(task: str) -> dict[str, list[dict]]:
    return {
        split: [
            json.loads(line)
            for line in (DATA / task / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for split in SPLITS
    }


@pytest.fixture(scope="module")
def framing():
    return read("framing")


@pytest.fixture(scope="module")
def stance():
    return read("stance")


def test_framing_rows_are_valid(framing):
    for split, rows in framing.items():
        for number, row in enumerate(rows, start=1):
            where = f"framing/{split}.jsonl line {number}"
            assert isinstance(row["text"], str) and len(row["text"].split()) >= 3, where
            assert row["label"] in FRAMING_LABELS, where
            assert row["also"] is None or (
                row["also"] in FRAMING_LABELS and row["also"] not in (row["label"], "other")
            ), where
            assert row["group"] and row["domain"] in FRAMING_DOMAINS, where
            assert isinstance(row["actors"], list) and isinstance(row["hard_negative"], bool), where
            assert not row["hard_negative"] or row["label"] == "other", where


def test_framing_size_and_mix(framing):
    rows = [row for split_rows in framing.values() for row in split_rows]
    assert len(rows) >= 3000
    for split, split_rows in framing.items():
        counts = Counter(row["label"] for row in split_rows)
        for label, target in FRAMING_TARGET_SHARES.items():
            share = counts[label] / len(split_rows)
            assert abs(share - target) <= 0.05, f"{split}: {label} {share:.1%} vs {target:.0%}"
    other = [row for row in rows if row["label"] == "other"]
    assert sum(row["hard_negative"] for row in other) / len(other) >= 0.30


def test_framing_breadth(framing):
    rows = [row for split_rows in framing.values() for row in split_rows]
    actors = {
        actor.strip() for row in rows for actor in row["actors"] if actor.strip() not in ("", "-")
    }
    assert len(actors) >= 300
    assert len({row["group"] for row in rows}) >= 50
    assert {"business", "domestic_politics", "courts", "sport", "labour", "health"} <= {
        row["domain"] for row in rows
    }
    assert len({row["region"] for row in rows}) >= 10


def test_stance_rows_are_valid_and_paired(stance):
    rows = [row for split_rows in stance.values() for row in split_rows]
    assert len(rows) >= 1500
    for row in rows:
        assert row["stance"] in STANCE_LABELS and row["target"].strip() and row["text"].strip()
    by_text: dict[str, list[dict]] = {}
    for row in rows:
        by_text.setdefault(row["text"], []).append(row)
    paired = [
        group
        for group in by_text.values()
        if len({row["target"] for row in group}) >= 2 and len({row["stance"] for row in group}) >= 2
    ]
    assert len(paired) / len(by_text) >= 0.30


@pytest.mark.parametrize("task,key", [("framing", ("text",)), ("stance", ("text", "target"))])
def test_no_exact_duplicates_and_groups_stay_in_one_split(task, key):
    splits = read(task)
    keys = [tuple(row[field] for field in key) for rows in splits.values() for row in rows]
    assert len(keys) == len(set(keys))
    owner: dict[str, str] = {}
    for split, rows in splits.items():
        for row in rows:
            assert owner.setdefault(row["group"], split) == split, (
                f"group {row['group']} crosses splits"
            )


@pytest.mark.parametrize("task", ["framing", "stance"])
def test_no_near_duplicates_across_splits(task):
    splits = read(task)
    texts = {split: sorted({row["text"] for row in rows}) for split, rows in splits.items()}
    assert max_cross_split_similarity(texts) < NEAR_DUPLICATE_JACCARD


def test_split_sizes_are_about_70_15_15(framing, stance):
    for splits in (framing, stance):
        total = sum(len(rows) for rows in splits.values())
        for split, target in zip(SPLITS, (0.70, 0.15, 0.15), strict=True):
            assert abs(len(splits[split]) / total - target) <= 0.04


def test_corpus_checks_find_near_duplicates():
    from corpus_checks import near_duplicate_pairs

    texts = [
        "Moscow accused Kyiv of shelling the nuclear plant on Tuesday night",
        "Moscow accused Kyiv of shelling the nuclear plant on Tuesday evening",
        "Qatar offered to mediate between the two sides in the dispute",
    ]
    pairs = near_duplicate_pairs(texts)
    assert [(a, b) for a, b, _ in pairs] == [(0, 1)]
    assert max_cross_split_similarity({"a": texts[:1], "b": texts[1:]}) >= 0.6
