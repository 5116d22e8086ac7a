"""Sentences/s of `stanceframe profile`, local engine against the Ray engine, on this machine.

    .venv/bin/python benchmarks/bench_profile.py --run runs/framing --copies 6 --workers 2

The corpus is the bundled whole-article test split (33 articles, 364 sentences) repeated --copies
times with fresh ids, in --shards JSONL shards. Each engine profiles it by outlet once (labelling is
what is timed; --resamples is kept small); Ray's start-up is timed apart. Labels are checked equal.
Writes benchmarks/results/profile_cpu.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def write_corpus(folder: Path, copies: int, shards: int) -> int:
    sentences: dict[str, list[str]] = defaultdict(list)
    source = REPO / "data" / "framing" / "test_articles.jsonl"
    for line in source.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        sentences[row["article"]].append(row["text"])
    records = [
        {"id": f"{article}-{copy}", "text": " ".join(texts), "outlet": f"outlet-{n % 4}"}
        for copy in range(copies)
        for n, (article, texts) in enumerate(sorted(sentences.items()))
    ]
    per_shard = -(-len(records) // shards)
    for shard in range(shards):
        with (folder / f"part-{shard:03d}.jsonl").open("w", encoding="utf-8") as handle:
            for record in records[shard * per_shard : (shard + 1) * per_shard]:
                handle.write(json.dumps(record) + "\n")
    return len(records)


def main() -> int:
    sys.path.insert(0, str(REPO))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=REPO / "runs" / "framing")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=20)
    args = parser.parse_args()

    import ray

    from stanceframe.eval.profile import ProfileSettings, compute_profile
    from stanceframe.model import Classifier

    folder = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    articles = write_corpus(folder, args.copies, args.shards)
    classifier = Classifier.load(args.run, device="cpu")
    settings = ProfileSettings(by=["outlet"], resamples=args.resamples)
    labels: dict[str, list[int]] = {}
    results: dict[str, dict] = {}

    def sink(engine):
        def collect(batch):
            labels.setdefault(engine, []).extend(batch.label.tolist())

        return collect

    started = time.perf_counter()
    local = compute_profile(classifier, [folder], settings, sentence_sink=sink("local"))
    results["local"] = {
        "labelling_s": local.summary["seconds"]["labelling"],
        "total_s": time.perf_counter() - started,
    }
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    ray_start_s = time.perf_counter() - started
    started = time.perf_counter()
    distributed = compute_profile(
        classifier,
        [folder],
        settings,
        engine="ray",
        sentence_sink=sink("ray"),
        run_options={"workers": args.workers, "device": "cpu", "threads": 1},
    )
    results["ray"] = {
        "labelling_s": distributed.summary["seconds"]["labelling"],
        "total_s": time.perf_counter() - started,
        "ray_start_s": ray_start_s,
        "workers": args.workers,
    }
    ray.shutdown()
    sentences = local.summary["sentences"]
    for entry in results.values():
        entry["sentences_per_s"] = sentences / entry["labelling_s"]
    report = {
        "run": str(args.run),
        "articles": articles,
        "sentences": sentences,
        "shards": args.shards,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "labels_equal": labels["local"] == labels["ray"],
        "engines": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "profile_cpu.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# profile: local vs Ray ({articles} articles, {sentences} sentences, "
        f"{args.shards} shards, {os.cpu_count()} CPUs)",
        "",
        "| engine | labelling s | sentences/s | note |",
        "|---|---:|---:|---|",
        f"| local (one process) | {results['local']['labelling_s']:.1f} | "
        f"{results['local']['sentences_per_s']:.0f} | |",
        f"| ray ({args.workers} actors, 1 thread each) | {results['ray']['labelling_s']:.1f} | "
        f"{results['ray']['sentences_per_s']:.0f} | Ray start-up {ray_start_s:.1f} s apart |",
        "",
        f"Labels equal sentence by sentence: {report['labels_equal']}.",
    ]
    (RESULTS / "profile_cpu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
