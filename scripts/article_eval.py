"""Score runs on whole-article data: macro-F1 with intervals, per-label P/R, per-family accuracy,
with and without prevalence-aware priors (EM-estimated on the same sentences, unlabelled).

    python scripts/article_eval.py runs/a runs/b --data data/framing/test_articles.jsonl
    python scripts/article_eval.py runs/a --data ../shared/realdev/sentences.jsonl --position-field i

Rows need `text` and `label`; `article` and a position field give each sentence its previous one
(for runs trained with data.context: previous); `family` (optional) gives per-family accuracy.
The first run is the reference of the paired bootstrap comparisons. Prints Markdown; --json writes
every number.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from stanceframe import Classifier
from stanceframe.eval.bootstrap import paired_bootstrap, percentile_intervals, scorers
from stanceframe.metrics import classification_metrics
from stanceframe.model.priors import estimate_priors


def read_rows(path: Path, position_field: str) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    rows.sort(key=lambda row: (str(row.get("article", "")), row.get(position_field) or 0))
    previous: dict[str, str] = {}
    for row in rows:
        article = row.get("article")
        row["_context"] = previous.get(article) if article is not None else None
        if article is not None:
            previous[article] = row["text"]
    return rows


def family_accuracy(rows: list[dict], correct: np.ndarray) -> dict[str, dict[str, float]]:
    by_family: dict[str, list[bool]] = defaultdict(list)
    for row, right in zip(rows, correct, strict=True):
        if row.get("family"):
            by_family[row["family"]].append(bool(right))
    result = {}
    rng = np.random.default_rng(0)
    for family, hits in sorted(by_family.items()):
        hits_array = np.array(hits, dtype=float)
        resampled = hits_array[rng.integers(0, len(hits), size=(2000, len(hits)))].mean(axis=1)
        low, high = np.percentile(resampled, [2.5, 97.5])
        result[family] = {
            "n": len(hits),
            "accuracy": float(hits_array.mean()),
            "low": float(low),
            "high": float(high),
        }
    return result


def score_run(run: Path, rows: list[dict]) -> dict:
    classifier = Classifier.load(run, device="cpu").with_priors(None)
    labels = classifier.labels
    gold = np.array([labels.index(row["label"]) for row in rows])
    logits = classifier.logits(
        [row["text"] for row in rows], contexts=[row["_context"] for row in rows]
    )
    plain = classifier.probabilities(logits)
    training = classifier.prior_vector(classifier.training_prior)
    estimate = estimate_priors(plain, training)
    variants = {
        "plain": plain.argmax(1),
        "em_priors": classifier.with_priors(dict(zip(labels, estimate.priors, strict=True)))
        .probabilities(logits)
        .argmax(1),
    }
    result = {"run": str(run), "labels": labels, "estimated_priors": estimate.priors.tolist()}
    for name, predicted in variants.items():
        metrics = classification_metrics(gold, predicted, labels)
        intervals = percentile_intervals(scorers(gold, predicted, labels, False), len(gold))
        result[name] = {
            "macro_f1": metrics["macro_f1"],
            "interval": intervals["macro_f1"],
            "per_label": metrics["per_label"],
            "families": family_accuracy(rows, predicted == gold),
            "predicted": predicted,
        }
    result["gold"] = gold
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--position-field", default="position")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = read_rows(args.data, args.position_field)
    results = [score_run(run, rows) for run in args.runs]
    labels = results[0]["labels"]
    print(f"{args.data}: {len(rows)} sentences\n")
    print(
        "| run | priors | macro-F1 | 95% interval | "
        + " | ".join(f"{lab} P/R" for lab in labels)
        + " |"
    )
    print("|---|---|---:|---:|" + "---:|" * len(labels))
    for result in results:
        for variant in ("plain", "em_priors"):
            scores = result[variant]
            cells = " | ".join(
                f"{scores['per_label'][lab]['precision']:.2f}/{scores['per_label'][lab]['recall']:.2f}"
                for lab in labels
            )
            interval = scores["interval"]
            print(
                f"| {result['run']} | {variant} | {scores['macro_f1']:.3f} | "
                f"{interval['low']:.3f}–{interval['high']:.3f} | {cells} |"
            )
    families = sorted({family for r in results for family in r["plain"]["families"]})
    if families:
        print("\n| family | n | " + " | ".join(r["run"] for r in results) + " |")
        print("|---|---:|" + "---:|" * len(results))
        for family in families:
            first = results[0]["plain"]["families"][family]
            cells = " | ".join(
                "{accuracy:.2f} ({low:.2f}–{high:.2f})".format(**r["plain"]["families"][family])
                for r in results
            )
            print(f"| {family} | {first['n']} | {cells} |")
    gold = results[0]["gold"]
    reference = results[0]["plain"]["predicted"]
    for result in results[1:]:
        test = paired_bootstrap(
            scorers(gold, reference, labels, False)["macro_f1"],
            scorers(gold, result["plain"]["predicted"], labels, False)["macro_f1"],
            len(gold),
        )
        print(
            f"\n{result['run']} − {results[0]['run']}: {test.difference:+.3f} "
            f"(95% {test.interval[0]:+.3f}, {test.interval[1]:+.3f}), p = {test.p_value:.3f}"
        )
    if args.json:
        for result in results:
            result.pop("gold")
            for variant in ("plain", "em_priors"):
                result[variant].pop("predicted")
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
