"""`stanceframe profile --engine ray`: the same profile on Ray Data. Shards are read in parallel
(each by the one records reader), articles are split and labelled by an actor pool of
`Classifier`s (`map_batches`), and the labelled sentences come back in corpus order to the same
accumulation as the local engine's, so labels and estimates equal the local engine's.

`RAY_ADDRESS` or `--ray-address` names an existing cluster; without one a local Ray starts (and is
shut down after). On a cluster every node needs stanceframe installed and the run directory and
the corpus at the same paths (a shared file system).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from stanceframe.eval.profile import (
    CorpusItem,
    Labeller,
    ProfileSettings,
    SentenceBatch,
    read_file_items,
)
from stanceframe.model.classifier import Classifier
from stanceframe.model.ray_engine import ray_session, user_errors_raised, workers_for

ARTICLES_PER_BATCH = 64


def _read_shard(row: dict[str, Any], settings: ProfileSettings) -> list[dict[str, Any]]:
    """One shard's corpus items as rows (the group key flattened into key_0, key_1, ...)."""
    return [
        {
            "id": item.id,
            "text": item.text,
            "source": item.source,
            "target": item.target,
            "index": item.index,
            "context": item.context,
            **{f"key_{position}": value for position, value in enumerate(item.key)},
        }
        for item in read_file_items(Path(row["path"]), settings)
    ]


class _ArticleLabeller:
    """A Ray actor: one Classifier, loaded once, labelling batches of articles."""

    def __init__(self, run_dir: str, settings: ProfileSettings, options: dict[str, Any]):
        classifier = Classifier.load(
            run_dir, device=options.get("device") or "auto", threads=options.get("threads")
        )
        self.classifier = classifier.with_priors(options.get("priors"))
        self.labeller = Labeller(self.classifier, settings)
        self.width = len(settings.group_columns)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        items = [
            CorpusItem(
                id=str(batch["id"][row]),
                text=str(batch["text"][row]),
                source=str(batch["source"][row]),
                key=tuple(str(batch[f"key_{i}"][row]) for i in range(self.width)),
                target=None if batch["target"][row] is None else str(batch["target"][row]),
                index=int(batch["index"][row]),
                context=None if batch["context"][row] is None else str(batch["context"][row]),
            )
            for row in range(len(batch["id"]))
        ]
        return self.labeller.label(items).to_columns(self.width)


def label_with_ray(
    classifier: Classifier,
    files: list[Path],
    settings: ProfileSettings,
    address: str | None,
    options: dict[str, Any],
) -> Iterator[SentenceBatch]:
    """Sentence batches of the corpus, in corpus order, labelled on Ray."""
    width = len(settings.group_columns)
    n_labels = len(classifier.labels)
    with ray_session(address, options.get("num_cpus")) as ray:
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True  # the same order as the local engine
        context.raise_original_map_exception = True  # a record's DataError, not Ray's wrapper
        workers = workers_for(ray, options.get("workers"))
        paths = [{"path": str(Path(path).resolve())} for path in files]
        dataset = (
            ray.data.from_items(paths, override_num_blocks=len(paths))
            # Reading reserves no CPU: the labelling actors hold every CPU they are given, and
            # a read waiting for a free CPU would wait for ever.
            .flat_map(
                _read_shard,
                fn_kwargs={"settings": settings},
                num_cpus=0,
                compute=ray.data.TaskPoolStrategy(size=workers),
            )
            .map_batches(
                _ArticleLabeller,
                fn_constructor_kwargs={
                    "run_dir": str(Path(classifier.run_dir).resolve()),
                    "settings": settings,
                    "options": {**options, "priors": classifier.priors},
                },
                batch_size=ARTICLES_PER_BATCH,
                batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=1,
            )
        )
        with user_errors_raised():
            for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
                if len(batch.get("article", [])):
                    yield SentenceBatch.from_columns(batch, width, n_labels)
