"""Measure the quantification methods of `stanceframe profile` on corpora with known label shares.

    python scripts/quantification_eval.py --run runs/framing      # a trained run (read only)
    python scripts/quantification_eval.py                         # a tiny model trained here

Each corpus resamples the bundled framing test split (with replacement) to chosen label shares (the
truth: the resample's own gold shares); the run labels every test sentence once, and each method
estimates the shares from the resample's labels and posteriors with the run's dev statistics. It
prints, per method and shift, the mean total absolute error (the sum over labels of |estimate -
truth|, averaged over repeats) and the coverage of the 95% bootstrap intervals (the share of label
x repeat whose interval holds the truth), and writes them as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
TEST_SPLIT = "bundled:framing/test"
# the case first: most sentences `other`, as in real wire copy
SHIFTS = {
    "other 80%": {"other": 0.8},
    "other 90%": {"other": 0.9},
    "other 60%": {"other": 0.6},
    "uniform": {"accusation": 0.25, "denial": 0.25, "diplomatic_proposal": 0.25, "other": 0.25},
    "accusation 50%": {"accusation": 0.5},
    "test split as is": {},
}
TINY_MODEL = {
    "base": "bundled:minilm",
    "max_length": 48,
    "random_init": {
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
    },
}


def train_tiny_run(run_dir: Path, steps: int = 160) -> Path:
    """A small random BERT trained briefly on the bundled framing corpus, calibrated on its dev
    split: weak (about half right), which is where counting is most biased. Seconds on a CPU."""
    from stanceframe.eval.calibration import calibrate_run
    from stanceframe.training import train
    from stanceframe.training.config import config_from_dict

    config = config_from_dict(
        {
            "task": "framing",
            "model": TINY_MODEL,
            "data": {
                "train": "bundled:framing/train",
                "dev": "bundled:framing/dev",
                "test": None,
                "labels": ["accusation", "denial", "diplomatic_proposal", "other"],
            },
            "training": {
                "max_steps": steps,
                "batch_size": 32,
                "learning_rate": 2e-3,
                "eval_strategy": "steps",
                "eval_steps": steps,
                "early_stopping_patience": None,
                "device": "cpu",
                "seed": 0,
            },
            "run_dir": str(run_dir),
        }
    )
    train(config)
    calibrate_run(run_dir, device="cpu")
    return run_dir


def test_sentences() -> tuple[list[str], list[str]]:
    from stanceframe.data import bundled_path
    from stanceframe.records import RecordReader

    with RecordReader(bundled_path(TEST_SPLIT.split(":", 1)[1])) as reader:
        rows = [record.fields for record in reader]
    return [row["text"] for row in rows], [row["label"] for row in rows]


def target_shares(labels: list[str], gold: list[str], shift: dict[str, float]) -> np.ndarray:
    """The shares asked for; labels left unnamed split the rest as they are in the test split."""
    counts = np.array([gold.count(label) for label in labels], dtype=float)
    named = np.array([label in shift for label in labels])
    shares = np.array([shift.get(label, 0.0) for label in labels])
    rest = 1.0 - shares.sum()
    if (~named).any():
        shares[~named] = rest * counts[~named] / counts[~named].sum()
    return shares / shares.sum()


def resample(
    gold_ids: np.ndarray, shares: np.ndarray, size: int, rng: np.random.Generator
) -> np.ndarray:
    """Row indices: `size` draws, each label's rows drawn with replacement in its share."""
    per_label = rng.multinomial(size, shares)
    rows = [
        rng.choice(np.flatnonzero(gold_ids == label), size=count, replace=True)
        for label, count in enumerate(per_label)
        if count
    ]
    return rng.permutation(np.concatenate(rows))


def shifted_corpus(
    labels: list[str], shift: dict[str, float], size: int, seed: int
) -> tuple[list[dict], dict[str, float]]:
    """Sentence records (text, gold label, an article id each) resampled from the test split to
    `shift`, and their true shares."""
    texts, gold = test_sentences()
    gold_ids = np.array([labels.index(label) for label in gold])
    rows = resample(gold_ids, target_shares(labels, gold, shift), size, np.random.default_rng(seed))
    records = [
        {"text": texts[row], "gold": gold[row], "article": f"s{position}"}
        for position, row in enumerate(rows)
    ]
    truth = np.bincount(gold_ids[rows], minlength=len(labels)) / len(rows)
    return records, dict(zip(labels, truth.tolist(), strict=True))


def measure(run: Path, size: int, repeats: int, resamples: int, methods: list[str]) -> dict:
    from stanceframe.eval import quantify
    from stanceframe.eval.profile import dev_statistics
    from stanceframe.model import Classifier

    classifier = Classifier.load(run, device="auto")
    labels = classifier.labels
    statistics, dev_info, notes = dev_statistics(classifier)
    texts, gold = test_sentences()
    started = time.perf_counter()
    logits = classifier.logits(texts, contexts=[None] * len(texts))
    labelling_s = time.perf_counter() - started
    unshifted = classifier.with_priors(None)
    posteriors = unshifted.probabilities(logits).astype(np.float64)
    scores = classifier.probabilities(logits)
    decisions = np.array([labels.index(classifier.decide(row).label) for row in scores])
    gold_ids = np.array([labels.index(label) for label in gold])
    fitted = {
        method: quantify.resample_dev(method, statistics, resamples, seed=0) for method in methods
    }
    results: dict = {
        "run": str(run),
        "test_split": TEST_SPLIT,
        "test_accuracy": float((decisions == gold_ids).mean()),
        "dev": {key: dev_info[key] for key in ("source", "rows", "accuracy", "from")},
        "temperature": classifier.temperature,
        "size": size,
        "repeats": repeats,
        "resamples": resamples,
        "labelling_s": labelling_s,
        "notes": notes,
        "shifts": {},
    }
    for name, shift in SHIFTS.items():
        shares = target_shares(labels, gold, shift)
        errors = {method: [] for method in methods}
        covered = {method: [] for method in methods}
        widths = {method: [] for method in methods}
        for repeat in range(repeats):
            rng = np.random.default_rng([repeat, 7])
            rows = resample(gold_ids, shares, size, rng)
            truth = np.bincount(gold_ids[rows], minlength=len(labels)) / size
            for method in methods:
                estimate = quantify.estimate_group(
                    fitted[method],
                    decisions[rows],
                    posteriors[rows],
                    np.arange(size),
                    np.random.default_rng([repeat, 8]),
                )
                errors[method].append(float(np.abs(estimate.corrected - truth).sum()))
                covered[method] += ((estimate.low <= truth) & (truth <= estimate.high)).tolist()
                widths[method].append(float((estimate.high - estimate.low).mean()))
        results["shifts"][name] = {
            "shares": dict(zip(labels, shares.round(4).tolist(), strict=True)),
            "methods": {
                method: {
                    "total_abs_error": float(np.mean(errors[method])),
                    "total_abs_error_sd": float(np.std(errors[method])),
                    "coverage": float(np.mean(covered[method])),
                    "mean_interval_width": float(np.mean(widths[method])),
                }
                for method in methods
            },
        }
    return results


def print_table(results: dict, methods: list[str]) -> None:
    print(
        f"run {results['run']}: test accuracy {results['test_accuracy']:.3f}, dev "
        f"{results['dev']['rows']} rows (accuracy {results['dev']['accuracy']:.3f}), temperature "
        f"{results['temperature']:.3f}; {results['repeats']} corpora of {results['size']} "
        f"sentences per shift, {results['resamples']} bootstrap resamples"
    )
    print("total absolute error (sum over labels), mean over corpora; [coverage of 95% intervals]")
    print(f"{'shift':<18}" + "".join(f"{method:>16}" for method in methods))
    for name, entry in results["shifts"].items():
        cells = "".join(
            f"{entry['methods'][m]['total_abs_error']:>8.3f} [{entry['methods'][m]['coverage']:.2f}]"
            for m in methods
        )
        print(f"{name:<18}{cells}")
    means = {
        m: np.mean([e["methods"][m]["total_abs_error"] for e in results["shifts"].values()])
        for m in methods
    }
    coverage = {
        m: np.mean([e["methods"][m]["coverage"] for e in results["shifts"].values()])
        for m in methods
    }
    cells = "".join(f"{means[m]:>8.3f} [{coverage[m]:.2f}]" for m in methods)
    print(f"{'mean':<18}{cells}")


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a trained run (default: train a tiny one)")
    parser.add_argument("--size", type=int, default=1000, help="sentences per corpus")
    parser.add_argument("--repeats", type=int, default=10, help="corpora per shift")
    parser.add_argument("--resamples", type=int, default=200, help="bootstrap resamples")
    parser.add_argument("--methods", default="cc,acc,pcc,pacc,em")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    methods = args.methods.split(",")
    run = args.run
    if run is None:
        import tempfile

        run = train_tiny_run(Path(tempfile.mkdtemp(prefix="quantification-eval-")) / "run")
    results = measure(run, args.size, args.repeats, args.resamples, methods)
    print_table(results, methods)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
