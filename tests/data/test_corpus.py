"""The bundled corpora meet their specification (issue: bundled framing and stance corpora)."""

import json
import sys
from collections import Counter

import pytest

from tests.conftest import REPO

DATA = REPO / "data"
sys.path.insert(0, str(DATA))
from corpus_checks import (  # noqa: E402
    FRAMING_LABELS,
    FRAMING_TARGET_SHARES,
    NEAR_DUPLICATE_JACCARD,
    STANCE_LABELS,
    max_cross_split_similarity,
)

SPLITS = ("train", "dev", "test")
FRAMING_FILES = ("train", "dev", "test", "test_articles")
REGISTERS = {
    "wire",
    "state_agency",
    "official_statement",
    "un_speech",
    "social_post",
    "broadcaster",
}
FAMILIES = {
    "blame_verb": "accusation",
    "no_blame_verb": "accusation",
    "formal_charge": "accusation",
    "denial": "denial",
    "proposal": "diplomatic_proposal",
    "cooperation_not_proposal": "other",
    "meeting_took_place": "other",
    "other_plain": "other",
    "other_hard_negative": "other",
}
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


def read(task: str, files=SPLITS) -> dict[str, list[dict]]:
    return {
        split: [
            json.loads(line)
            for line in (DATA / task / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for split in files
    }


@pytest.fixture(scope="module")
def framing():
    """Every framing file; test_articles holds the test split's whole articles."""
    return read("framing", FRAMING_FILES)


def _by_split(framing: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The three splits, the test articles counted with test."""
    return {
        "train": framing["train"],
        "dev": framing["dev"],
        "test": framing["test"] + framing["test_articles"],
    }


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
            assert row["register"] in REGISTERS, where
            assert row["family"] is None or FAMILIES[row["family"]] == row["label"], where
            assert (row["article"] is None) == (row["position"] is None), where
            assert (row["article"] is not None) == (split == "test_articles") or split != "test", (
                where
            )


def test_articles_are_whole_ordered_and_in_one_split(framing):
    articles: dict[str, list[tuple[str, int]]] = {}
    for split, rows in framing.items():
        for row in rows:
            if row["article"] is not None:
                articles.setdefault(row["article"], []).append((split, row["position"]))
    assert len(articles) >= 200
    for article, places in articles.items():
        assert len({split for split, _ in places}) == 1, f"article {article} crosses splits"
        positions = [position for _, position in places]
        assert positions == list(range(len(positions))), f"article {article}: {positions}"
        assert 5 <= len(positions) <= 25, article
    test_articles = {row["article"] for row in framing["test_articles"]}
    assert len(test_articles) >= 25  # enough whole articles to measure on


def test_articles_have_the_label_mix_of_real_stories(framing):
    rows = [row for split_rows in framing.values() for row in split_rows if row["article"]]
    shares = Counter(row["label"] for row in rows)
    assert 0.45 <= shares["other"] / len(rows) <= 0.65
    for label in ("accusation", "denial", "diplomatic_proposal"):
        assert shares[label] / len(rows) >= 0.05, label


def test_registers_and_families_are_covered(framing):
    rows = [row for split_rows in framing.values() for row in split_rows]
    registers = Counter(row["register"] for row in rows)
    for register in REGISTERS:
        assert registers[register] >= 100, f"{register}: {registers[register]} rows"
    for register in REGISTERS - {"wire"}:
        labels = Counter(row["label"] for row in rows if row["register"] == register)
        # each register teaches more than one act (and its `other`)
        assert labels["other"] >= 20 and labels["accusation"] >= 20, register
    families = Counter(row["family"] for row in rows if row["family"])
    assert families["no_blame_verb"] >= 300
    assert families["formal_charge"] >= 150
    assert families["cooperation_not_proposal"] >= 200
    assert families["meeting_took_place"] >= 80


def test_framing_size_and_mix(framing):
    rows = [row for split_rows in framing.values() for row in split_rows]
    assert len(rows) >= 6000
    by_split = _by_split(framing)
    # v1 rows keep the balanced shares they were written to
    for split, split_rows in by_split.items():
        v1 = [row for row in split_rows if row["family"] is None]
        counts = Counter(row["label"] for row in v1)
        for label, target in FRAMING_TARGET_SHARES.items():
            share = counts[label] / len(v1)
            assert abs(share - target) <= 0.05, f"{split} v1: {label} {share:.1%} vs {target:.0%}"
    # v2 sentences and articles: each split close to its pool's overall shares
    for pool in ("sentences", "articles"):

        def in_pool(row, pool=pool):
            return row["family"] is not None and (row["article"] is not None) == (
                pool == "articles"
            )

        overall = Counter(row["label"] for row in rows if in_pool(row))
        total = sum(overall.values())
        for split, split_rows in by_split.items():
            counts = Counter(row["label"] for row in split_rows if in_pool(row))
            size = sum(counts.values())
            for label in FRAMING_LABELS:
                share, target = counts[label] / size, overall[label] / total
                assert abs(share - target) <= 0.06, f"{split} {pool}: {label} {share:.1%}"
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


def test_stance_v2_teaches_the_target(stance):
    """Issue 11: 5,000+ pairs, 150+ targets with 15+ pairs, one spelling and type per target."""
    rows = [row for split_rows in stance.values() for row in split_rows]
    assert len(rows) >= 5000
    per_target = Counter(row["target"] for row in rows)
    assert sum(count >= 15 for count in per_target.values()) >= 150
    spellings: dict[str, set[str]] = {}
    types: dict[str, set[str]] = {}
    for row in rows:
        spellings.setdefault(row["target"].casefold(), set()).add(row["target"])
        types.setdefault(row["target"], set()).add(row["target_type"])
    assert all(len(found) == 1 for found in spellings.values())
    assert all(len(found) == 1 for found in types.values())
    v2 = [row for row in rows if row["register"] is not None]
    assert len(v2) >= 5000 - 1643
    registers = Counter(row["register"] for row in v2)
    for register in ("wire", "state_agency", "official_statement", "op_ed", "social_post"):
        assert registers[register] / len(v2) >= 0.08, register
    assert sum(row["implicit"] for row in v2) / len(v2) >= 0.15
    for split_rows in stance.values():  # every split sees every stance in proportion
        shares = Counter(row["stance"] for row in split_rows)
        assert all(shares[label] / len(split_rows) >= 0.2 for label in STANCE_LABELS)


def _splits(task: str) -> dict[str, list[dict]]:
    return _by_split(read(task, FRAMING_FILES)) if task == "framing" else read(task)


@pytest.mark.parametrize("task,key", [("framing", ("text",)), ("stance", ("text", "target"))])
def test_no_exact_duplicates_and_groups_stay_in_one_split(task, key):
    splits = _splits(task)
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
    splits = _splits(task)
    texts = {split: sorted({row["text"] for row in rows}) for split, rows in splits.items()}
    assert max_cross_split_similarity(texts) < NEAR_DUPLICATE_JACCARD


def test_split_sizes_are_about_70_15_15(framing, stance):
    for splits in (_by_split(framing), stance):
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


def test_stance_pairs_derived_from_framing_follow_the_roles(framing, stance):
    """Issue 11: framing as supervision. Every derived pair is what data/derive.py gives for the
    roles of a framing training sentence, and none is near a stance dev or test sentence."""
    from stanceframe.data.derive import ActorRoles, derive_stances

    derived = read("stance", ("framing_derived",))["framing_derived"]
    assert len(derived) >= 2000
    framing_train = {row["text"] for row in framing["train"]}
    roles = {
        " ".join(record["text"].split()): ActorRoles.from_record(record, "roles")
        for record in map(json.loads, (DATA / "raw" / "roles_framing_train.jsonl").open())
    }
    spelling = {row["target"].casefold(): row["target"] for rows in stance.values() for row in rows}
    by_text: dict[str, dict[str, str]] = {}
    for row in derived:
        assert row["text"] in framing_train and row["stance"] in STANCE_LABELS
        assert row["group"].startswith("framing:") and row["register"] in REGISTERS
        by_text.setdefault(row["text"], {})[row["target"]] = row["stance"]
    for text, stances in by_text.items():
        expected = {
            spelling.get(target.casefold(), target): value
            for target, value in derive_stances(roles[text]).items()
        }
        assert stances == expected, text
    shares = Counter(row["stance"] for row in derived)
    assert all(shares[label] > 0 for label in STANCE_LABELS)
    held_out = sorted({row["text"] for split in ("dev", "test") for row in stance[split]})
    similarity = max_cross_split_similarity({"derived": sorted(by_text), "held_out": held_out})
    assert similarity < NEAR_DUPLICATE_JACCARD
