"""Split the bundled stance corpus by target: train on some targets, test on unseen ones.

The cross-target number says how the stance config does on a user's own data about targets it
never saw (the situation of a user who retrains it on, e.g., tweets about five targets):

    python scripts/stance_cross_target.py --out outputs/cross_target
    stanceframe train configs/stance.yaml --set data.train=outputs/cross_target/train.jsonl \
        --set data.dev=null --set data.test=outputs/cross_target/test.jsonl \
        --set training.distillation=null --run-dir runs/stance-xt

Test targets: the N targets (default 5) with the most pairs among those of at least --min-pairs,
drawn with a seed; every pair of theirs goes to test, and every sentence paired with one of them
leaves train as well, so that no test sentence is seen in training with another target.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from stanceframe.data import bundled_path


def read_pairs() -> list[dict]:
    rows = []
    for split in ("train", "dev", "test"):
        with bundled_path(f"stance/{split}").open(encoding="utf-8") as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return rows


def cross_target_split(
    rows: list[dict], n_targets: int, min_pairs: int, seed: int
) -> tuple[list[dict], list[dict], list[str]]:
    counts = Counter(row["target"] for row in rows)
    eligible = sorted(target for target, n in counts.items() if n >= min_pairs)
    if len(eligible) < n_targets:
        raise SystemExit(f"only {len(eligible)} targets have {min_pairs}+ pairs")
    test_targets = sorted(random.Random(seed).sample(eligible, n_targets))
    test = [row for row in rows if row["target"] in test_targets]
    test_texts = {row["text"] for row in test}
    train = [row for row in rows if row["text"] not in test_texts]
    return train, test, test_targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--min-pairs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    train, test, targets = cross_target_split(read_pairs(), args.targets, args.min_pairs, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("test", test)):
        path = args.out / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        print(f"{path}: {len(rows)} pairs, stances {dict(Counter(r['stance'] for r in rows))}")
    print("test targets:", ", ".join(targets))


if __name__ == "__main__":
    main()
