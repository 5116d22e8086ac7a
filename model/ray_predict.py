"""`stanceframe predict --engine ray`: label folders or globs of record shards on Ray, one Parquet
file out per shard (OUT/part-NNNNN-<shard>.parquet), each shard labelled by one actor of a pool of
`Classifier`s with the same code as `predict` (model/files.py), so the labels equal it.

The folder is staged beside OUT and swapped in when every shard is done. On a cluster, the run,
the shards and OUT's parent must be at the same paths on every node (a shared file system).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stanceframe.atomic import check_replaceable, staged_folder, write_marker
from stanceframe.model.classifier import Classifier
from stanceframe.model.files import predict_to_parquet
from stanceframe.model.ray_engine import ray_session, user_errors_raised, workers_for
from stanceframe.records import record_files


@dataclass
class ShardSummary:
    out_dir: Path
    shards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(int(shard["rows"]) for shard in self.shards)


class _ShardLabeller:
    def __init__(self, run_dir: str, options: dict[str, Any], predict_options: dict[str, Any]):
        classifier = Classifier.load(
            run_dir, device=options.get("device") or "auto", threads=options.get("threads")
        )
        self.classifier = classifier.with_priors(options.get("priors"))
        self.predict_options = predict_options

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        results = [
            predict_to_parquet(self.classifier, source, target, **self.predict_options)
            for source, target in zip(batch["input"], batch["output"], strict=True)
        ]
        return {
            "input": [result["input"] for result in results],
            "rows": [result["rows"] for result in results],
        }


def _shard_name(number: int, path: Path) -> str:
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.stem)[:60]
    return f"part-{number:05d}-{stem}.parquet"


def predict_with_ray(
    classifier: Classifier,
    inputs: list[str],
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    address: str | None = None,
    workers: int | None = None,
    device: str = "auto",
    threads: int | None = None,
    **predict_options: Any,
) -> ShardSummary:
    files = record_files(inputs)
    out_path = Path(out_dir)
    check_replaceable(
        out_path,
        overwrite,
        writer="stanceframe predict",
        protect=[classifier.run_dir, *(Path(path) for path in inputs if Path(path).exists())],
    )
    summary = ShardSummary(out_path)
    with staged_folder(out_path) as staging, ray_session(address) as ray:
        ray.data.DataContext.get_current().raise_original_map_exception = True
        jobs = [
            {
                "input": str(path.resolve()),
                "output": str((staging / _shard_name(n, path)).resolve()),
            }
            for n, path in enumerate(files)
        ]
        dataset = ray.data.from_items(jobs, override_num_blocks=len(jobs)).map_batches(
            _ShardLabeller,
            fn_constructor_kwargs={
                "run_dir": str(Path(classifier.run_dir).resolve()),
                "options": {"device": device, "threads": threads, "priors": classifier.priors},
                "predict_options": predict_options,
            },
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=min(len(jobs), workers_for(ray, workers))),
            num_cpus=1,
        )
        with user_errors_raised():
            summary.shards = sorted(dataset.take_all(), key=lambda shard: shard["input"])
        write_marker(staging, "predictions")
    return summary
