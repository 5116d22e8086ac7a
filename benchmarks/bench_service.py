"""Bounded load run of `stanceframe serve` on loopback: throughput, latency, errors and memory.

    .venv/bin/python benchmarks/bench_service.py runs/framing --requests 2000 --concurrency 8

Starts the server itself on a free 127.0.0.1 port, sends a fixed number of requests (sentences of
the example article, or the whole article with --endpoint analyze), prints the numbers and a ratio
against one-at-a-time requests, and stops the server. It never sends to any other address.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from stanceframe.model.sentences import split_sentences  # noqa: E402
from stanceframe.server import default_model_threads  # noqa: E402

ARTICLE = REPO / "examples" / "tass_grain_corridor.txt"
HOST = "127.0.0.1"  # loopback only, by design


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(run: str, port: int, extra: list[str]) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "stanceframe",
        "serve",
        run,
        "--host",
        HOST,
        "--port",
        str(port),
    ]
    return subprocess.Popen(
        [*command, "--log-level", "warning", *extra],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )


def wait_healthy(base_url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the server did not become healthy within {timeout_s:.0f} s")


def percentile_ms(sorted_seconds: list[float], fraction: float) -> float:
    """The nearest-rank percentile, in milliseconds."""
    if not sorted_seconds:
        return float("nan")
    rank = max(0, min(len(sorted_seconds) - 1, round(fraction * len(sorted_seconds)) - 1))
    return sorted_seconds[rank] * 1000


def request_bodies(endpoint: str, texts_per_request: int) -> list[dict]:
    text = ARTICLE.read_text(encoding="utf-8")
    if endpoint == "analyze":
        return [{"text": text}]
    sentences = [span.text for span in split_sentences(text).sentences]
    return [
        {"texts": [sentences[(start + k) % len(sentences)] for k in range(texts_per_request)]}
        for start in range(len(sentences))
    ]


async def load(
    base_url: str,
    endpoint: str,
    bodies: list[dict],
    requests: int,
    concurrency: int,
    budget_s: float,
) -> dict:
    """Send `requests` requests, `concurrency` at a time; stop early if `budget_s` runs out."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    semaphore = asyncio.Semaphore(concurrency)
    deadline = time.monotonic() + budget_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one(index: int) -> None:
            async with semaphore:
                if time.monotonic() > deadline:
                    errors["skipped (time budget)"] = errors.get("skipped (time budget)", 0) + 1
                    return
                started = time.perf_counter()
                try:
                    response = await client.post(
                        f"/v1/{endpoint}", json=bodies[index % len(bodies)]
                    )
                    if response.status_code != 200:
                        key = f"HTTP {response.status_code}"
                        errors[key] = errors.get(key, 0) + 1
                        return
                except httpx.HTTPError as error:
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                    return
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(one(index) for index in range(requests)))
        wall_s = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "ok": len(latencies),
        "errors": errors,
        "wall_s": wall_s,
        "requests_per_s": len(latencies) / wall_s,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p95_ms": percentile_ms(latencies, 0.95),
        "p99_ms": percentile_ms(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def bare_model_throughput(args: argparse.Namespace, bodies: list[dict]) -> float:
    """Texts per second of `Classifier.predict` alone, in this process, batched: the ceiling."""
    from stanceframe.model import Classifier

    classifier = Classifier.load(
        args.run, device="cpu", threads=args.threads or default_model_threads()
    )
    if args.endpoint == "analyze":
        texts = [span.text for span in split_sentences(bodies[0]["text"]).sentences]
    else:
        texts = [text for body in bodies for text in body["texts"]]
    texts = (texts * (256 // len(texts) + 1))[:256]
    classifier.predict(texts[:32])
    started = time.perf_counter()
    classifier.predict(texts, batch_size=32)
    return len(texts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", help="run directory to serve, e.g. runs/framing")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--texts-per-request", type=int, default=1)
    parser.add_argument("--endpoint", choices=["classify", "analyze"], default="classify")
    parser.add_argument("--baseline-requests", type=int, default=200, help="0 skips the baseline")
    parser.add_argument("--budget-s", type=float, default=900, help="stop sending after this")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--no-bare-model", action="store_true", help="skip timing the model alone afterwards"
    )
    parser.add_argument("--batch-wait-ms", type=float, default=0.0, help="passed to the server")
    parser.add_argument("--max-batch-texts", type=int, default=128, help="passed to the server")
    parser.add_argument("--threads", type=int, help="passed to the server (default: its own)")
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://{HOST}:{port}"
    server_options = ["--batch-wait-ms", str(args.batch_wait_ms)]
    server_options += ["--max-batch-texts", str(args.max_batch_texts)]
    server_options += ["--threads", str(args.threads)] if args.threads else []
    process = start_server(args.run, port, server_options)
    try:
        wait_healthy(base_url, process)
        bodies = request_bodies(args.endpoint, args.texts_per_request)
        asyncio.run(load(base_url, args.endpoint, bodies, 20, 2, 60))  # warm-up
        rss_before = rss_mib(process.pid)
        batches_before = httpx.get(f"{base_url}/v1/info").json()["stats"]
        result = asyncio.run(
            load(base_url, args.endpoint, bodies, args.requests, args.concurrency, args.budget_s)
        )
        stats = httpx.get(f"{base_url}/v1/info").json()["stats"]
        rss_after = rss_mib(process.pid)
        baseline = None
        if args.baseline_requests:
            baseline = asyncio.run(
                load(base_url, args.endpoint, bodies, args.baseline_requests, 1, args.budget_s)
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
    bare_texts_per_s = None if args.no_bare_model else bare_model_throughput(args, bodies)

    batches = stats["batches_run"] - batches_before["batches_run"]
    texts = stats["texts_labelled"] - batches_before["texts_labelled"]
    summary = {
        "run": args.run,
        "endpoint": args.endpoint,
        "concurrency": args.concurrency,
        "texts_per_request": args.texts_per_request,
        "batch_wait_ms": args.batch_wait_ms,
        "max_batch_texts": args.max_batch_texts,
        "threads": args.threads,
        **result,
        "mean_batch_texts": texts / batches if batches else None,
        "server_rss_mib_before": rss_before,
        "server_rss_mib_after": rss_after,
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "baseline_concurrency_1": baseline,
        "texts_per_s": texts / result["wall_s"],
        "bare_model_texts_per_s": bare_texts_per_s,
    }
    print(
        f"run {args.run}, POST /v1/{args.endpoint}, {args.texts_per_request} text(s)/request, "
        f"batch wait {args.batch_wait_ms:g} ms, "
        f"model threads {args.threads or default_model_threads()}"
    )
    print(
        f"{result['ok']}/{args.requests} ok at concurrency {args.concurrency} in "
        f"{result['wall_s']:.1f} s; errors: {result['errors'] or 'none'}"
    )
    print(
        f"{result['requests_per_s']:.1f} requests/s; latency p50 {result['p50_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    )
    if summary["mean_batch_texts"]:
        print(
            f"model batches: {batches} for {texts} texts ({summary['mean_batch_texts']:.1f} per batch)"
        )
    print(f"server RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after")
    if baseline:
        print(
            f"one at a time: {baseline['requests_per_s']:.1f} requests/s, p95 "
            f"{baseline['p95_ms']:.1f} ms; concurrency {args.concurrency} gives "
            f"{result['requests_per_s'] / baseline['requests_per_s']:.2f}x the throughput"
        )
    if bare_texts_per_s:
        print(
            f"the model alone, batched in this process: {bare_texts_per_s:.1f} texts/s; the "
            f"service delivered {summary['texts_per_s']:.1f} texts/s "
            f"({summary['texts_per_s'] / bare_texts_per_s:.2f}x of that)"
        )
    print(f"(load average {summary['load_average_1min']:.2f} on {summary['cpus']} CPUs at the end)")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
