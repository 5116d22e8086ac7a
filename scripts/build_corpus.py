"""Build the bundled corpora: merge data/raw/*.jsonl, check them, and split by group into train/dev/test.

Groups (events) never cross splits; groups holding near-duplicate sentences (word 3-gram Jaccard >= 0.6)
are merged first so that no near-duplicate pair crosses splits either. Among many seeded random group
assignments, the one whose split sizes and label shares are closest to the targets is kept.

Framing corpus v2 keeps every v1 row (data/raw/framing_{afr,...}.jsonl) in the split it had, and splits
the v2 rows (data/raw/framing_v2_*.jsonl) on their own: standalone sentences by group, whole articles by
article, each pool to its own label shares. A v2 group with a near-duplicate of a v1 row follows that
row's split. Outputs: train/dev (everything), test (sentences: v1 test + v2 standalone test) and
test_articles (the whole test articles, in reading order).

Stance corpus v2 does the same: v1 pairs (data/raw/stance_s*.jsonl) keep their splits, the v2 pairs
(data/raw/stance_v2_*.jsonl) are split by group on their own; one spelling per target.

Stance pairs derived from framing (data/stance/framing_derived.jsonl, training data only): the actor
roles of framing training sentences (data/raw/roles_framing_train.jsonl) give stances by the rule in
data/derive.py; targets take the stance corpus's spelling and type where it has them.

    python scripts/build_corpus.py          # writes data/framing/*.jsonl and data/stance/*.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "data"))
from corpus_checks import (  # noqa: E402
    FRAMING_LABELS,
    FRAMING_TARGET_SHARES,
    NEAR_DUPLICATE_JACCARD,
    STANCE_LABELS,
    max_cross_split_similarity,
    near_duplicate_pairs,
    similarity_to,
)
from derive import ActorRoles, derive_pairs  # noqa: E402

RAW = REPO / "data" / "raw"
SPLIT_SHARES = {"train": 0.70, "dev": 0.15, "test": 0.15}
FRAMING_FIELDS = ["text", "label", "also", "group", "domain", "region", "actors", "hard_negative"]
FRAMING_V2_FIELDS = [*FRAMING_FIELDS, "register", "family", "article", "position"]
STANCE_FIELDS = ["text", "target", "stance", "group", "domain", "target_type"]
STANCE_V2_FIELDS = [*STANCE_FIELDS, "register", "implicit"]
SEED = 13
TRIALS = 4000


def read_rows(pattern: str, fields: list[str], label_field: str, labels: list[str]) -> list[dict]:
    rows = []
    for path in sorted(RAW.glob(pattern)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = [field for field in fields if field not in row]
            if missing:
                raise SystemExit(f"{path} line {number}: missing fields {missing}")
            if row[label_field] not in labels:
                raise SystemExit(
                    f"{path} line {number}: {label_field} {row[label_field]!r} not in {labels}"
                )
            row["text"] = " ".join(row["text"].split())
            rows.append({field: row[field] for field in fields})
    return rows


def drop_exact_duplicates(rows: list[dict], key_fields: tuple[str, ...]) -> list[dict]:
    seen, kept = set(), []
    for row in rows:
        key = tuple(row[field] for field in key_fields)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    print(f"  dropped {len(rows) - len(kept)} exact duplicates")
    return kept


def merged_groups(rows: list[dict]) -> dict[str, list[int]]:
    """Row indices per split unit: groups joined when they share a sentence or a near-duplicate."""
    parent = {row["group"]: row["group"] for row in rows}

    def find(group: str) -> str:
        while parent[group] != group:
            parent[group] = parent[parent[group]]
            group = parent[group]
        return group

    texts = [row["text"] for row in rows]
    by_text = defaultdict(list)
    for index, text in enumerate(texts):
        by_text[text].append(index)
    pairs = [(a, b) for indices in by_text.values() for a in indices for b in indices if a < b]
    pairs += [(a, b) for a, b, _ in near_duplicate_pairs(texts)]
    for a, b in pairs:
        parent[find(rows[a]["group"])] = find(rows[b]["group"])
    units = defaultdict(list)
    for index, row in enumerate(rows):
        units[find(row["group"])].append(index)
    return units


def assignment_cost(
    unit_labels: list[Counter],
    assignment: list[str],
    labels: list[str],
    target_shares: dict[str, float],
) -> float:
    totals = {split: Counter() for split in SPLIT_SHARES}
    for counts, split in zip(unit_labels, assignment, strict=True):
        totals[split].update(counts)
    grand = sum(sum(counts.values()) for counts in totals.values())
    cost = 0.0
    for split, counts in totals.items():
        size = sum(counts.values())
        if size == 0:
            return float("inf")
        cost += abs(size / grand - SPLIT_SHARES[split]) * 2
        for label in labels:
            cost = max(cost, abs(counts[label] / size - target_shares[label]))
    return cost


def split_rows(
    rows: list[dict], label_field: str, labels: list[str], target_shares: dict[str, float]
) -> dict[str, list[dict]]:
    units = merged_groups(rows)
    unit_names = sorted(units)
    unit_labels = [Counter(rows[i][label_field] for i in units[name]) for name in unit_names]
    rng = random.Random(SEED)
    best, best_cost = None, float("inf")
    names, weights = list(SPLIT_SHARES), list(SPLIT_SHARES.values())
    for _ in range(TRIALS):
        assignment = rng.choices(names, weights, k=len(unit_names))
        cost = assignment_cost(unit_labels, assignment, labels, target_shares)
        if cost < best_cost:
            best, best_cost = assignment, cost
    splits = {split: [] for split in SPLIT_SHARES}
    for name, split in zip(unit_names, best, strict=True):
        splits[split] += [rows[i] for i in units[name]]
    print(
        f"  {len(rows)} rows, {len({r['group'] for r in rows})} groups, {len(units)} split units, cost {best_cost:.3f}"
    )
    return splits


def split_pools(
    v1_splits: dict[str, list[dict]],
    pools: list[tuple[str, list[dict]]],
    label_field: str = "label",
    labels: list[str] = FRAMING_LABELS,
) -> dict[str, list[dict]]:
    """v1 rows stay where they are; each later pool is split on its own, in order.

    A group with a near-duplicate of a row already placed (v1 or an earlier pool) follows that
    row's split, so adding a pool never moves the rows that were there before.
    """
    splits = {split: list(rows) for split, rows in v1_splits.items()}
    for pool_name, pool in pools:
        placed_rows = [row for rows in splits.values() for row in rows]
        placed_split = {id(row): split for split, rows in splits.items() for row in rows}
        texts = [row["text"] for row in placed_rows] + [row["text"] for row in pool]
        forced: dict[str, set[str]] = defaultdict(set)  # group -> splits of its near-duplicates
        for a, b, _ in near_duplicate_pairs(texts):
            if a < len(placed_rows) <= b:
                forced[pool[b - len(placed_rows)]["group"]].add(placed_split[id(placed_rows[a])])
        conflicting = {group for group, found in forced.items() if len(found) > 1}
        if conflicting:
            print(
                f"  {pool_name}: dropped {len(conflicting)} groups near-duplicating several splits"
            )
        placed = [row for row in pool if row["group"] in forced and row["group"] not in conflicting]
        for row in placed:
            splits[next(iter(forced[row["group"]]))].append(row)
        free = [row for row in pool if row["group"] not in forced]
        counts = Counter(row[label_field] for row in free)
        shares = {label: counts[label] / len(free) for label in labels}
        print(f"  {pool_name}: {len(placed)} rows follow earlier near-duplicates")
        for split, rows in split_rows(free, label_field, labels, shares).items():
            splits[split] += rows
    return splits


def write_framing(splits: dict[str, list[dict]]) -> None:
    """train and dev whole; test split into its sentences and its whole articles."""
    test = splits["test"]
    write_splits(
        "framing",
        {
            "train": splits["train"],
            "dev": splits["dev"],
            "test": [row for row in test if row["article"] is None],
            "test_articles": [row for row in test if row["article"] is not None],
        },
        "label",
    )


def _row_order(row: dict) -> tuple:
    position = row.get("position")
    return (row["group"], -1 if position is None else position, row["text"])


def write_splits(task: str, splits: dict[str, list[dict]], label_field: str) -> None:
    folder = REPO / "data" / task
    folder.mkdir(exist_ok=True)
    for split, split_rows_ in splits.items():
        split_rows_.sort(key=_row_order)
        path = folder / f"{split}.jsonl"
        path.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in split_rows_),
            encoding="utf-8",
        )
        counts = Counter(row[label_field] for row in split_rows_)
        shares = ", ".join(
            f"{label} {counts[label]} ({counts[label] / len(split_rows_):.1%})"
            for label in sorted(counts)
        )
        print(f"  {task}/{split}: {len(split_rows_)} rows: {shares}")
    similarity = max_cross_split_similarity(
        {name: [r["text"] for r in rows] for name, rows in splits.items()}
    )
    print(f"  highest cross-split word 3-gram Jaccard: {similarity:.3f}")


def main() -> None:
    print("framing v1")
    framing = drop_exact_duplicates(
        read_rows("framing_[!v]*.jsonl", FRAMING_FIELDS, "label", FRAMING_LABELS), ("text",)
    )
    for row in framing:
        row.update(register="wire", family=None, article=None, position=None)
    v1_splits = split_rows(framing, "label", FRAMING_LABELS, FRAMING_TARGET_SHARES)
    print("framing v2")
    seen = {row["text"] for row in framing}
    pools = []
    # later batches are pools of their own, split after the ones before them
    for batch in ("framing_v2_*.jsonl", "framing_v2b_*.jsonl", "framing_v2c_*.jsonl"):
        rows = [
            row
            for row in drop_exact_duplicates(
                read_rows(batch, FRAMING_V2_FIELDS, "label", FRAMING_LABELS), ("text",)
            )
            if row["text"] not in seen
        ]
        seen |= {row["text"] for row in rows}
        next_position: Counter = Counter()
        for row in rows:
            if row["also"] in ("other", row["label"]):
                row["also"] = None
            if row["article"] is not None:  # renumber: a dropped duplicate leaves no gap
                row["position"] = next_position[row["article"]]
                next_position[row["article"]] += 1
        name = batch.removeprefix("framing_").removesuffix("_*.jsonl")
        pools += [
            (f"{name} standalone", [row for row in rows if row["article"] is None]),
            (f"{name} articles", [row for row in rows if row["article"] is not None]),
        ]
    framing_splits = split_pools(v1_splits, [(name, rows) for name, rows in pools if rows])
    write_framing(framing_splits)
    print("stance v1")
    stance = drop_exact_duplicates(
        read_rows("stance_s*.jsonl", STANCE_FIELDS, "stance", STANCE_LABELS), ("text", "target")
    )
    for row in stance:
        row.update(register=None, implicit=None)
    counts = Counter(row["stance"] for row in stance)
    stance_shares = {label: counts[label] / len(stance) for label in STANCE_LABELS}
    stance_v1_splits = split_rows(stance, "stance", STANCE_LABELS, stance_shares)
    print("stance v2")
    seen_pairs = {(row["text"], row["target"]) for row in stance}
    stance_v2 = [
        row
        for row in drop_exact_duplicates(
            read_rows("stance_v2_*.jsonl", STANCE_V2_FIELDS, "stance", STANCE_LABELS),
            ("text", "target"),
        )
        if (row["text"], row["target"]) not in seen_pairs
    ]
    stance_splits = split_pools(
        stance_v1_splits, [("stance v2", stance_v2)] if stance_v2 else [], "stance", STANCE_LABELS
    )
    all_rows = [row for rows in stance_splits.values() for row in rows]
    spelling = most_common_per_target(all_rows, "target")
    target_type = most_common_per_target(all_rows, "target_type")
    for row in all_rows:
        key = row["target"].casefold()
        row.update(target=spelling[key], target_type=target_type[key])
    write_splits("stance", stance_splits, "stance")
    print("stance derived from framing roles")
    held_out = [row["text"] for split in ("dev", "test") for row in stance_splits[split]]
    derived = derive_from_roles(framing_splits["train"], spelling, target_type, held_out)
    write_splits("stance", {"framing_derived": derived}, "stance")


def derive_from_roles(
    framing_train: list[dict],
    spelling: dict[str, str],
    target_type: dict[str, str],
    held_out: list[str],
) -> list[dict]:
    """Stance pairs from the roles of framing training sentences; none near a stance dev/test one."""
    path = RAW / "roles_framing_train.jsonl"
    roles = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        record = json.loads(line)
        roles[" ".join(record["text"].split())] = ActorRoles.from_record(
            record, f"{path} line {number}"
        )
    similarity = similarity_to(held_out)

    rows, skipped = [], 0
    for row in framing_train:
        if row["text"] not in roles:
            continue
        if similarity(row["text"]) >= NEAR_DUPLICATE_JACCARD:
            skipped += 1
            continue
        for pair in derive_pairs(row["text"], roles[row["text"]]):
            key = pair["target"].casefold()
            rows.append(
                {
                    **pair,
                    "target": spelling.get(key, pair["target"]),
                    "group": f"framing:{row['group']}",
                    "domain": row["domain"],
                    "target_type": target_type.get(key, "unknown"),
                    "register": row["register"],
                    "implicit": False,
                }
            )
    missing = len(set(roles) - {row["text"] for row in framing_train})
    print(f"  {len(rows)} pairs; {skipped} sentences near a stance dev/test one left out")
    print(f"  {missing} role rows whose text is not a framing training sentence")
    return rows


def most_common_per_target(rows: list[dict], field: str) -> dict[str, str]:
    """One spelling and one type per target (v1 has "Legalization of Abortion", a policy, and
    "... of abortion", an issue): v2's where v2 has the target, else the most frequent one."""
    found: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        weight = 1000 if row["register"] is not None else 1  # v2 rows carry a register
        found[row["target"].casefold()][row[field]] += weight
    return {key: counts.most_common(1)[0][0] for key, counts in found.items()}


if __name__ == "__main__":
    main()
