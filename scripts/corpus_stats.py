"""Print the bundled corpora's counts as markdown tables (for data/DATASHEET.md and issue notes)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "dev", "test")


def read(task: str) -> dict[str, list[dict]]:
    return {
        s: [
            json.loads(x)
            for x in (DATA / task / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for s in SPLITS
    }


def table(splits: dict[str, list[dict]], field: str) -> None:
    values = sorted({row[field] for rows in splits.values() for row in rows})
    print(f"| {field} | " + " | ".join(SPLITS) + " | all |")
    print("|---|" + "---:|" * (len(SPLITS) + 1))
    for value in values:
        counts = [sum(row[field] == value for row in splits[s]) for s in SPLITS]
        shares = [f"{c} ({c / len(splits[s]):.1%})" for c, s in zip(counts, SPLITS, strict=True)]
        print(f"| {value} | " + " | ".join(shares) + f" | {sum(counts)} |")
    print(
        "| total | "
        + " | ".join(str(len(splits[s])) for s in SPLITS)
        + f" | {sum(len(r) for r in splits.values())} |\n"
    )


def main() -> None:
    framing = read("framing")
    rows = [row for split_rows in framing.values() for row in split_rows]
    print("## framing\n")
    table(framing, "label")
    other = [row for row in rows if row["label"] == "other"]
    actors = {a.strip() for row in rows for a in row["actors"] if a.strip() not in ("", "-")}
    words = sorted(len(row["text"].split()) for row in rows)
    print(
        f"groups {len({r['group'] for r in rows})}, distinct actors {len(actors)}, "
        f"hard negatives {sum(r['hard_negative'] for r in other)} of {len(other)} other "
        f"({sum(r['hard_negative'] for r in other) / len(other):.1%}), rows with `also` {sum(r['also'] is not None for r in rows)}, "
        f"words per sentence median {words[len(words) // 2]} (min {words[0]}, max {words[-1]}), "
        f"15-50 words: {sum(15 <= w <= 50 for w in words) / len(words):.1%}\n"
    )
    for field in ("domain", "region"):
        print(
            f"{field}: "
            + ", ".join(f"{k} {v}" for k, v in Counter(r[field] for r in rows).most_common())
            + "\n"
        )
    stance = read("stance")
    srows = [row for split_rows in stance.values() for row in split_rows]
    print("## stance\n")
    table(stance, "stance")
    by_text = Counter(r["text"] for r in srows)
    print(
        f"groups {len({r['group'] for r in srows})}, distinct sentences {len(by_text)}, "
        f"sentences with two targets {sum(c >= 2 for c in by_text.values())} "
        f"({sum(c >= 2 for c in by_text.values()) / len(by_text):.1%}), distinct targets {len({r['target'] for r in srows})}\n"
    )
    print(
        "target types: "
        + ", ".join(f"{k} {v}" for k, v in Counter(r["target_type"] for r in srows).most_common())
        + "\n"
    )
    print(
        "domains: "
        + ", ".join(f"{k} {v}" for k, v in Counter(r["domain"] for r in srows).most_common())
    )


if __name__ == "__main__":
    main()
