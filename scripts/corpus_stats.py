"""Print the bundled corpora's counts as markdown tables (for data/DATASHEET.md and issue notes)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
SPLITS = ("train", "dev", "test")


FRAMING_FILES = ("train", "dev", "test", "test_articles")


def read(task: str, files: tuple[str, ...] = SPLITS) -> dict[str, list[dict]]:
    return {
        s: [
            json.loads(x)
            for x in (DATA / task / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        for s in files
    }


def table(splits: dict[str, list[dict]], field: str) -> None:
    names = list(splits)
    values = sorted({str(row[field]) for rows in splits.values() for row in rows})
    print(f"| {field} | " + " | ".join(names) + " | all |")
    print("|---|" + "---:|" * (len(names) + 1))
    for value in values:
        counts = [sum(str(row[field]) == value for row in splits[s]) for s in names]
        shares = [f"{c} ({c / len(splits[s]):.1%})" for c, s in zip(counts, names, strict=True)]
        print(f"| {value} | " + " | ".join(shares) + f" | {sum(counts)} |")
    print(
        "| total | "
        + " | ".join(str(len(splits[s])) for s in names)
        + f" | {sum(len(r) for r in splits.values())} |\n"
    )


def main() -> None:
    framing = read("framing", FRAMING_FILES)
    rows = [row for split_rows in framing.values() for row in split_rows]
    print("## framing\n")
    table(framing, "label")
    table(framing, "register")
    table(framing, "family")
    articles = {row["article"] for row in rows if row["article"] is not None}
    article_rows = [row for row in rows if row["article"] is not None]
    print(
        f"whole articles {len(articles)} ({len(article_rows)} sentences; "
        + ", ".join(
            f"{label} {count / len(article_rows):.1%}"
            for label, count in Counter(r["label"] for r in article_rows).most_common()
        )
        + f"), of which in test_articles {len({r['article'] for r in framing['test_articles']})}\n"
    )
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
