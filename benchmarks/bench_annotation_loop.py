"""A simulated annotation loop on the bundled corpus: does `suggest` beat picking at random?

    nice -n 10 .venv/bin/python benchmarks/bench_annotation_loop.py

Start from 300 labelled rows of data/framing/train.jsonl drawn at random; each round, fit the
learner on what is labelled, score it on the test split, and "label" 200 more rows of the rest,
chosen by each strategy of annotation/strategies.py (the function `suggest` calls) from the
learner's scores and the rows' embeddings. Three rounds: 300, 500, 700 and 900 rows.

The learner is logistic regression on the sentence embeddings of the base model (all-MiniLM-L6-v2,
frozen), not a fine-tune of it: that keeps 4 strategies x 5 seeds x 4 fits within minutes on two
CPU cores. It is the same model family `audit` uses; a fine-tuned learner would give other
numbers. Writes benchmarks/results/annotation_loop.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

STRATEGIES = ("uncertain-diverse", "uncertainty", "diverse", "random")


def read(name: str) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in (REPO / "data/framing" / f"{name}.jsonl").open()]
    return [row["text"] for row in rows], [row["label"] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=300)
    parser.add_argument("--step", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--regularisation", type=float, default=8.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/annotation_loop"))
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from stanceframe.annotation.embeddings import SentenceEncoder
    from stanceframe.annotation.strategies import select
    from stanceframe.eval.metrics import classification_metrics

    labels = ["accusation", "denial", "diplomatic_proposal", "other"]
    code = {label: index for index, label in enumerate(labels)}
    splits = {name: read(name) for name in ("train", "test", "test_articles")}
    started = time.perf_counter()
    encoder = SentenceEncoder.load("bundled:minilm", device=args.device, max_length=128)
    features = {name: encoder.encode(texts) for name, (texts, _) in splits.items()}
    embedding_seconds = time.perf_counter() - started
    gold = {name: np.array([code[label] for label in split[1]]) for name, split in splits.items()}
    train_x, train_y = features["train"], gold["train"]

    def fit(rows: np.ndarray) -> LogisticRegression:
        return LogisticRegression(C=args.regularisation, max_iter=3000).fit(
            train_x[rows], train_y[rows]
        )

    def scores(model: LogisticRegression) -> dict[str, float]:
        return {
            name: classification_metrics(gold[name], model.predict(features[name]), labels)[
                "macro_f1"
            ]
            for name in ("test", "test_articles")
        }

    sizes = [args.start + round_ * args.step for round_ in range(args.rounds + 1)]
    curves: dict[str, dict[str, list[list[float]]]] = {
        strategy: {"test": [], "test_articles": []} for strategy in STRATEGIES
    }
    started = time.perf_counter()
    for seed in range(args.seeds):
        first = np.random.default_rng(seed).choice(len(train_y), size=args.start, replace=False)
        for strategy in STRATEGIES:
            labelled = first.copy()
            curve = {"test": [], "test_articles": []}
            for round_ in range(args.rounds + 1):
                model = fit(labelled)
                for name, value in scores(model).items():
                    curve[name].append(value)
                if round_ == args.rounds:
                    break
                pool = np.setdiff1d(np.arange(len(train_y)), labelled)
                chosen = select(
                    strategy,
                    args.step,
                    probabilities=model.predict_proba(train_x[pool]),
                    embeddings=train_x[pool],
                    seed=seed * 100 + round_,
                )
                labelled = np.concatenate([labelled, pool[chosen]])
            for name in curve:
                curves[strategy][name].append(curve[name])
    loop_seconds = time.perf_counter() - started
    full = scores(fit(np.arange(len(train_y))))

    summary = {
        strategy: {
            name: {
                "mean": [round(float(v), 4) for v in np.mean(values, axis=0)],
                "std": [round(float(v), 4) for v in np.std(values, axis=0)],
                "wins_over_random_at_end": int(
                    sum(
                        run[-1] > base[-1]
                        for run, base in zip(values, curves["random"][name], strict=True)
                    )
                ),
            }
            for name, values in by_split.items()
        }
        for strategy, by_split in curves.items()
    }
    result = {
        "learner": f"logistic regression (C={args.regularisation}) on frozen all-MiniLM-L6-v2 "
        "sentence embeddings",
        "labelled_rows": sizes,
        "seeds": args.seeds,
        "macro_f1": summary,
        "all_5164_rows": {name: round(value, 4) for name, value in full.items()},
        "per_seed": curves,
        "seconds": {"embeddings": round(embedding_seconds, 1), "loop": round(loop_seconds, 1)},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, nice -n 10)",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Simulated annotation loop: macro-F1 (mean ± sd over {args.seeds} seeds)\n",
        f"Learner: {result['learner']}.\n",
    ]
    for name, title in (
        ("test", "sentence test split (744)"),
        ("test_articles", "whole-article test split (364)"),
    ):
        lines.append(f"\n## {title}\n")
        lines.append(
            "| strategy | "
            + " | ".join(f"{size} rows" for size in sizes)
            + " | beats random at the end |"
        )
        lines.append("|---|" + "---:|" * (len(sizes) + 1))
        for strategy in STRATEGIES:
            entry = summary[strategy][name]
            cells = [f"{m:.3f} ± {s:.3f}" for m, s in zip(entry["mean"], entry["std"], strict=True)]
            wins = (
                ""
                if strategy == "random"
                else f"{entry['wins_over_random_at_end']} of {args.seeds}"
            )
            lines.append(f"| {strategy} | " + " | ".join(cells) + f" | {wins} |")
        lines.append(f"\nAll 5,164 training rows: {full[name]:.3f}.")
    lines.append(
        f"\nEmbeddings {embedding_seconds:.0f} s, loop {loop_seconds:.0f} s; {result['machine']}."
    )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
