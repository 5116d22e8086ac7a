"""Write the (sentence, target) pairs the stance teacher labels for the bundled soft labels.

    python scripts/stance_teacher_pairs.py --out outputs/stance_teacher_pairs.jsonl
    stanceframe train configs/stance-large.yaml --run-dir runs/stance-large
    stanceframe soft-labels runs/stance-large outputs/stance_teacher_pairs.jsonl \
        -o data/distillation/stance_mpnet.jsonl

The pairs: every stance training pair; each framing training sentence with one of its actors (drawn
with a seed), leaving out sentences near a stance dev or test one; the target-swap copies that
configs/stance.yaml trains on; and the pairs derived from framing roles (bundled:stance/framing_derived).
The teacher's labels of the last three are what the student learns beyond the gold pairs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "data"))

from corpus_checks import similarity_to  # noqa: E402

from stanceframe.data import bundled_path  # noqa: E402
from stanceframe.training import load_config  # noqa: E402
from stanceframe.training.augment import swap_targets  # noqa: E402
from stanceframe.training.data import load_data  # noqa: E402

ACTOR_SEED = 11
NEAR_HELD_OUT = 0.3  # word-3-gram Jaccard: stricter than the corpus's 0.6, the teacher saw dev


def read(name: str) -> list[dict]:
    with bundled_path(name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def framing_actor_pairs(stance_train: set[str], held_out: list[str]) -> list[dict]:
    similarity = similarity_to(held_out)
    rng = random.Random(ACTOR_SEED)
    pairs = []
    for row in read("framing/train"):
        if not row["actors"] or row["text"] in stance_train:
            continue
        if similarity(row["text"]) >= NEAR_HELD_OUT:
            continue
        pairs.append({"text": row["text"], "target": rng.choice(row["actors"])})
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    stance_train = read("stance/train")
    held_out = sorted({row["text"] for split in ("dev", "test") for row in read(f"stance/{split}")})
    pairs = [{"text": row["text"], "target": row["target"]} for row in stance_train]
    pairs += framing_actor_pairs({row["text"] for row in stance_train}, held_out)
    config = load_config(REPO / "configs" / "stance.yaml")
    data = load_data(config.data, config.training.seed)
    swapped = swap_targets(data.train, config.training.target_swap, config.training.seed)
    pairs += [
        {"text": example.text, "target": example.target}
        for example in swapped.split.examples[len(data.train.examples) :]
    ]
    pairs += [
        {"text": row["text"], "target": row["target"]} for row in read("stance/framing_derived")
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as handle:
        for pair in pairs:
            handle.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(pairs)} pairs written to {args.out}")


if __name__ == "__main__":
    main()
