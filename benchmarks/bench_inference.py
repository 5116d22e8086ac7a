"""Inference speed against the Hugging Face pipeline: one process, one model, the same sentences.

    .venv/bin/python benchmarks/bench_inference.py            # runs/framing, trained if missing

In turn: `transformers.pipeline("text-classification", batch_size=32)`, stanceframe's torch backend,
ONNX fp32 and ONNX int8 (exported into the run if missing). For each: sentences/s over the whole
set (median of --repeats timed passes), p50/p95 latency of one --batch-size request of consecutive
sentences (over all passes), peak RSS while loading it and labelling the set, macro-F1 on the
bundled test set, label agreement and the ratio to the pipeline. Passes go round-robin over the
backends, so that a busy neighbour on a shared machine hurts all of them alike. Writes
benchmarks/results/inference_<device>.json and .md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

Labeller = Callable[[list[str]], list[str]]  # sentences in, one label each out


@dataclass
class BackendResult:
    name: str
    sentences_per_s: float
    passes_per_s: list[float]
    latency_p50_ms: float
    latency_p95_ms: float
    peak_rss_mib: float
    rss_growth_mib: float
    macro_f1: float | None
    agreement_with_pipeline: float | None = None
    ratio_to_pipeline: float | None = None
    notes: list[str] = field(default_factory=list)


class PeakRss:
    """Samples this process's RSS every few milliseconds and keeps the largest value seen."""

    def __init__(self, interval_s: float = 0.005):
        self.process = psutil.Process()
        self.interval_s = interval_s
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def read_test_set() -> tuple[list[str], list[str]]:
    from stanceframe.data import bundled_path

    rows = [json.loads(line) for line in bundled_path("framing/test").read_text().splitlines()]
    return [row["text"] for row in rows], [row["label"] for row in rows]


def ensure_run(run_dir: Path) -> None:
    """Train the default model when it is missing, in a child process so as not to skew RSS."""
    if run_dir.is_dir():
        return
    print(f"{run_dir} not found: training it from configs/framing.yaml (minutes)", flush=True)
    command = [sys.executable, "-m", "stanceframe", "train", str(REPO / "configs" / "framing.yaml")]
    subprocess.run([*command, "--run-dir", str(run_dir)], check=True)


def ensure_onnx(run_dir: Path) -> None:
    from stanceframe.model.export import export_onnx, onnx_path

    if not onnx_path(run_dir, "onnx").is_file() or not onnx_path(run_dir, "onnx-int8").is_file():
        print(f"exporting {run_dir} to ONNX fp32 and int8", flush=True)
        export_onnx(run_dir, quantize="int8", overwrite=True)


def pipeline_labeller(run_dir: Path, device: str, batch_size: int, max_length: int) -> Labeller:
    from transformers import pipeline

    classify = pipeline(
        "text-classification", model=str(run_dir), device=device, batch_size=batch_size
    )

    def label(texts: list[str]) -> list[str]:
        outputs = classify(texts, batch_size=batch_size, truncation=True, max_length=max_length)
        return [output["label"] for output in outputs]

    return label


def stanceframe_labeller(
    run_dir: Path, backend: str, device: str, threads: int | None, batch_size: int
) -> Labeller:
    from stanceframe import Classifier

    classifier = Classifier.load(run_dir, device=device, threads=threads, backend=backend)

    def label(texts: list[str]) -> list[str]:
        return [prediction.label for prediction in classifier.predict(texts, batch_size=batch_size)]

    return label


def request_latencies_ms(label: Labeller, texts: list[str], batch_size: int) -> list[float]:
    latencies = []
    for start in range(0, len(texts), batch_size):
        began = time.perf_counter()
        label(texts[start : start + batch_size])
        latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, predicted, average="macro", zero_division=0))


def markdown_table(results: list[BackendResult]) -> str:
    lines = [
        "| backend | sentences/s | × pipeline | p50 batch ms | p95 batch ms | RSS added MiB "
        "| macro-F1 | labels = pipeline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        f1 = f"{result.macro_f1:.3f}" if result.macro_f1 is not None else "–"
        agreement = (
            f"{result.agreement_with_pipeline:.1%}"
            if result.agreement_with_pipeline is not None
            else "–"
        )
        lines.append(
            f"| {result.name} | {result.sentences_per_s:.0f} | {result.ratio_to_pipeline:.2f}× "
            f"| {result.latency_p50_ms:.0f} | {result.latency_p95_ms:.0f} "
            f"| {result.rss_growth_mib:.0f} | {f1} | {agreement} |"
        )
    return "\n".join(lines)


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="runs/framing", type=Path)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes per backend")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    parser.add_argument(
        "--backends", default="pipeline,torch,onnx,onnx-int8", help="comma-separated subset"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    ensure_run(args.run)
    names = args.backends.split(",")
    if any(name.startswith("onnx") for name in names):
        ensure_onnx(args.run)
    if args.device.startswith("cuda") and "onnx-int8" in names:
        names.remove("onnx-int8")  # dynamic int8 runs on CPUs only
    test_texts, test_labels = read_test_set()
    repeats = -(-args.sentences // len(test_texts))
    texts = (test_texts * repeats)[: args.sentences]
    max_length = json.loads((args.run / "stanceframe.json").read_text())["max_length"]
    import onnxruntime  # noqa: F401  (imported up front: libraries are not a backend's memory)
    import transformers  # noqa: F401

    import stanceframe.model  # noqa: F401

    baseline_rss_mib = psutil.Process().memory_info().rss / 2**20
    load_before = os.getloadavg()

    labellers: dict[str, Labeller] = {}
    results: dict[str, BackendResult] = {}
    test_predictions: dict[str, list[str]] = {}
    for name in names:
        gc.collect()
        rss_before = psutil.Process().memory_info().rss
        with PeakRss() as peak:
            if name == "pipeline":
                labeller = pipeline_labeller(args.run, args.device, args.batch_size, max_length)
            else:
                labeller = stanceframe_labeller(
                    args.run, name, args.device, args.threads, args.batch_size
                )
            labeller(texts[: args.batch_size * 2])  # warm-up
            test_predictions[name] = labeller(test_texts)
            labeller(texts)  # a whole pass, so that the peak includes the largest batches
        labellers[name] = labeller
        results[name] = BackendResult(
            name=name,
            sentences_per_s=0.0,
            passes_per_s=[],
            latency_p50_ms=0.0,
            latency_p95_ms=0.0,
            peak_rss_mib=peak.peak / 2**20,
            rss_growth_mib=(peak.peak - rss_before) / 2**20,
            macro_f1=macro_f1(test_labels, test_predictions[name]),
        )
        print(f"{name}: loaded, peak RSS {results[name].peak_rss_mib:.0f} MiB", flush=True)

    latencies: dict[str, list[float]] = {name: [] for name in labellers}
    for repeat in range(args.repeats):
        for name, labeller in labellers.items():
            began = time.perf_counter()
            labeller(texts)
            rate = len(texts) / (time.perf_counter() - began)
            results[name].passes_per_s.append(rate)
            latencies[name] += request_latencies_ms(labeller, texts, args.batch_size)
            print(f"pass {repeat + 1}/{args.repeats} {name}: {rate:.0f} sentences/s", flush=True)

    reference = results.get("pipeline")
    for name, result in results.items():
        result.sentences_per_s = statistics.median(result.passes_per_s)
        result.latency_p50_ms = float(np.percentile(latencies[name], 50))
        result.latency_p95_ms = float(np.percentile(latencies[name], 95))
        if reference is not None:
            result.ratio_to_pipeline = result.sentences_per_s / reference.sentences_per_s
            same = np.array(test_predictions[name]) == np.array(test_predictions["pipeline"])
            result.agreement_with_pipeline = float(same.mean())
    ordered = [results[name] for name in names]
    if reference is None:
        for result in ordered:
            result.ratio_to_pipeline = float("nan")
    table = markdown_table(ordered)

    device_name = "cuda" if args.device.startswith("cuda") else "cpu"
    environment = {
        "run": str(args.run),
        "sentences": len(texts),
        "unique_test_sentences": len(test_texts),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "device": args.device,
        "gpu": torch.cuda.get_device_name() if device_name == "cuda" else None,
        "cpu": platform.processor() or platform.machine(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "baseline_rss_mib": baseline_rss_mib,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "python": sys.version.split()[0],
        "versions": {
            name: version(name) for name in ("torch", "transformers", "onnxruntime", "tokenizers")
        },
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {"environment": environment, "results": [asdict(result) for result in ordered]}
    write_atomically(args.out / f"inference_{device_name}.json", json.dumps(payload, indent=2))
    header = (
        f"Inference on {device_name} ({environment['cpu_cores']} cores, torch threads "
        f"{environment['torch_threads']}), {len(texts)} sentences (bundled framing test set "
        f"repeated), batch size {args.batch_size}, model {args.run}; load average "
        f"{load_before[0]:.1f} before, {environment['load_average_after'][0]:.1f} after. RSS added: "
        f"peak RSS while loading the backend and labelling the set, over the process before it "
        f"({baseline_rss_mib:.0f} MiB with the libraries imported, more with the backends before "
        f"it still loaded).\n\n"
    )
    write_atomically(args.out / f"inference_{device_name}.md", header + table + "\n")
    print()
    print(header + table)


if __name__ == "__main__":
    main()
