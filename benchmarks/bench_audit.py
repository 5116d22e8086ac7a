"""Does `stanceframe audit` find label errors? Flip a share of the bundled training labels at
random, audit the result, and count the flipped rows among the top k (k = rows flipped).

    nice -n 10 .venv/bin/python benchmarks/bench_audit.py            # 5% of data/framing/train.jsonl

Each flipped row gets one of the other labels, uniformly. The audit is the library call behind the
CLI, with configs/framing.yaml (its base model and labels) and --all, timed end to end. Writes
benchmarks/results/audit_flipped.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "data/framing/train.jsonl"))
    parser.add_argument("--config", default=str(REPO / "configs/framing.yaml"))
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/audit_flipped"))
    args = parser.parse_args()

    from stanceframe.annotation.audit import audit
    from stanceframe.training import load_config

    config = load_config(args.config)
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines()]
    labels = list(config.data.labels)
    rng = np.random.default_rng(args.seed)
    k = round(len(rows) * args.share)
    flipped = set(rng.choice(len(rows), size=k, replace=False).tolist())
    for index in flipped:
        others = [label for label in labels if label != rows[index]["label"]]
        rows[index] = dict(rows[index], label=str(rng.choice(others)))

    with tempfile.TemporaryDirectory() as folder:
        noisy = Path(folder) / "train_flipped.jsonl"
        noisy.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        started = time.perf_counter()
        summary = audit(
            str(noisy), config, Path(folder) / "audit.csv", write_all=True, device=args.device
        )
        seconds = time.perf_counter() - started

    top_k = set(summary.ranked[:k])
    found = len(top_k & flipped)
    result = {
        "data": str(Path(args.data).relative_to(REPO)),
        "rows": len(rows),
        "flipped": k,
        "seed": args.seed,
        "precision_at_k": round(found / k, 4),
        "flipped_in_top_k": found,
        "flipped_in_top_2k": len(set(summary.ranked[: 2 * k]) & flipped),
        "cleanlab_flagged": summary.label_issues,
        "conflicting_rows": summary.conflicting_rows,
        "out_of_fold": summary.out_of_fold,
        "folds": summary.folds,
        "regularisation": summary.regularisation,
        "encoder": summary.encoder,
        "seconds_total": round(seconds, 1),
        "seconds": summary.seconds,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, nice -n 10)",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(
        f"# audit on {result['data']} with {args.share:.0%} of labels flipped\n\n"
        f"| rows | flipped (k) | in top k | precision@k | in top 2k | cleanlab flagged | "
        f"out-of-fold accuracy | time |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {len(rows)} | {k} | {found} | {result['precision_at_k']:.3f} | "
        f"{result['flipped_in_top_2k']} | {summary.label_issues} | "
        f"{summary.out_of_fold.get('accuracy', 0):.3f} | {seconds:.0f} s |\n\n"
        f"Steps (s): {summary.seconds}. {result['machine']}.\n",
        encoding="utf-8",
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
