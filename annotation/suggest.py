"""`stanceframe suggest`: pick the unlabelled records most worth labelling next, with a run.

Repeats (of each other, or of the labelled data the run was trained and tested on) are left out
first; then a strategy (annotation/strategies.py) chooses among the rest from the run's scores and
sentence embeddings. Every input field is kept, with the model's label and score added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stanceframe.annotation.duplicates import find_duplicates
from stanceframe.annotation.io import record_format, write_records
from stanceframe.annotation.pool import read_pool
from stanceframe.annotation.strategies import (
    DEFAULT_CANDIDATE_FACTOR,
    MEASURES,
    STRATEGIES,
    select,
    uncertainty,
)
from stanceframe.atomic import check_new_file
from stanceframe.data.corpus_checks import NEAR_DUPLICATE_JACCARD
from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.records import RecordReader, format_of

EMBEDDINGS = ("base", "run")


@dataclass
class LabelledSource:
    source: str
    rows: int | None  # None: could not be read (see note)
    note: str = ""


@dataclass
class SuggestSummary:
    output: Path
    pool_rows: int
    chosen: int
    strategy: str
    measure: str
    id_field: str
    generated_ids: int
    repeats_in_pool: int
    repeats_of_labelled: int
    labelled: list[LabelledSource] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)
    mean_uncertainty_chosen: float = 0.0
    mean_uncertainty_pool: float = 0.0
    calibrated: bool = False


def _run_labelled_sources(classifier: Classifier) -> list[str]:
    """The files of the labelled data the run knows (train, dev and test), as recorded in it."""
    sources = []
    for fingerprint in classifier.run_meta.data.values():
        location = fingerprint.path or fingerprint.source
        if location and location not in sources:
            sources.append(str(location))
    return sources


def _read_labelled(
    sources: list[str], text_column: str, target_column: str | None
) -> tuple[list[str], list[str] | None, list[LabelledSource]]:
    texts: list[str] = []
    targets: list[str] = []
    read: list[LabelledSource] = []
    for source in sources:
        path = source
        if source.startswith("bundled:"):
            from stanceframe.data import bundled_path

            path = str(bundled_path(source.removeprefix("bundled:")))
        if not Path(path).is_file() or format_of(path) is None:
            read.append(
                LabelledSource(source, None, "not a file here; its repeats are not checked")
            )
            continue
        with RecordReader(path) as reader:
            rows = [record.fields for record in reader]
        for row in rows:
            text = row.get(text_column)
            if isinstance(text, str) and text.strip():
                texts.append(text)
                targets.append(str(row.get(target_column) or "") if target_column else "")
        read.append(LabelledSource(source, len(rows)))
    return texts, targets if target_column else None, read


def _embeddings(
    classifier: Classifier,
    texts: list[str],
    targets: list[str] | None,
    kind: str,
    device: str,
    batch_size: int,
) -> np.ndarray:
    """Sentence embeddings of the texts alone (a context run's previous sentences left out)."""
    if kind == "run":
        return classifier.embed(texts, targets, batch_size=batch_size)
    from stanceframe.annotation.embeddings import SentenceEncoder

    base = classifier.run_meta.base_model
    if not base:
        raise DataError(
            f"{classifier.run_dir}: the run does not name its base model; use --embeddings run"
        )
    encoder = SentenceEncoder.load(
        base, device=device, max_length=classifier.run_meta.max_length or 128
    )
    return encoder.encode(texts, targets, batch_size=batch_size)


def prediction_fields(
    prefix: str, label_names: list[str], csv_output: bool, multi_label: bool = False
) -> list[str]:
    """The fields suggest adds to each record, in order."""
    names = ["label", "score"]
    names += [f"score_{label}" for label in label_names] if csv_output else ["scores"]
    names += ["labels"] if multi_label else []
    return [prefix + name for name in [*names, "uncertainty", "rank"]]


def suggest(
    classifier: Classifier,
    pool_path: str,
    n: int,
    output: Path,
    *,
    strategy: str = "uncertain-diverse",
    measure: str = "margin",
    text_column: str = "text",
    target_column: str | None = None,
    target: str | None = None,
    id_field: str = "id",
    require_ids: bool = False,
    labelled: list[str] | None = None,
    check_run_data: bool = True,
    near_duplicate_threshold: float | None = NEAR_DUPLICATE_JACCARD,
    embeddings: str = "base",
    candidate_factor: int = DEFAULT_CANDIDATE_FACTOR,
    seed: int = 0,
    prefix: str = "",
    batch_size: int = 32,
    device: str = "auto",
    overwrite: bool = False,
) -> SuggestSummary:
    """Choose `n` records of `pool_path` to label next and write them to `output` (.jsonl/.csv)."""
    output = Path(output)
    if embeddings not in EMBEDDINGS:
        raise ValueError(f"embeddings {embeddings!r} is not one of {', '.join(EMBEDDINGS)}")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    if measure not in MEASURES:
        raise ValueError(f"uncertainty measure {measure!r} is not one of {', '.join(MEASURES)}")
    csv_output = record_format(output) == "csv"
    check_new_file(output, overwrite, protect=[Path(pool_path)] if pool_path != "-" else [])
    if n < 1:
        raise DataError(f"-n must be at least 1, not {n}")
    pool = read_pool(
        classifier,
        pool_path,
        text_column=text_column,
        target_column=target_column,
        target=target,
        id_field=id_field,
        require_ids=require_ids,
    )
    added = prediction_fields(prefix, classifier.labels, csv_output, classifier.multi_label)
    for record in pool.records:
        clash = next((name for name in added if name in record.fields), None)
        if clash is not None:
            suggestion = f"pred_{prefix}" if prefix else "pred_"
            raise DataError(
                f"{record.location}: the input already has a field {clash!r}, which suggest "
                f"would overwrite; pass --prefix {suggestion} to add {suggestion}label, "
                f"{suggestion}score, ... beside it"
            )
    if n > len(pool):
        raise DataError(
            f"{pool.source}: asked for {n} suggestions, but the pool has only {len(pool)} rows"
        )

    sources = (_run_labelled_sources(classifier) if check_run_data else []) + list(labelled or [])
    run_input = classifier.run_meta.input
    labelled_texts, labelled_targets, labelled_read = _read_labelled(
        sources, run_input.text_column or "text", run_input.target_column
    )
    repeats = find_duplicates(
        pool.texts, pool.targets, labelled_texts, labelled_targets, near_duplicate_threshold
    )
    kept = np.array(repeats.kept, dtype=np.int64)
    in_pool = sum(index is not None for index in repeats.of_earlier)
    of_labelled = sum(index is not None for index in repeats.of_labelled)
    if n > len(kept):
        raise DataError(
            f"{pool.source}: asked for {n} suggestions, but of its {len(pool)} rows only "
            f"{len(kept)} are left once repeats are set aside ({in_pool} repeat other rows of "
            f"the pool, {of_labelled} repeat labelled data); ask for at most {len(kept)}"
        )

    texts = [pool.texts[i] for i in kept]
    targets = [pool.targets[i] for i in kept] if pool.targets is not None else None
    contexts = [pool.contexts[i] for i in kept] if pool.contexts is not None else None
    vectors = None
    if embeddings == "run" and classifier.context == "none":
        logits, vectors = classifier.logits_and_embeddings(texts, targets, batch_size=batch_size)
    else:
        logits = classifier.logits(texts, targets, batch_size=batch_size, contexts=contexts)
    probabilities = classifier.probabilities(logits)
    if strategy in ("uncertain-diverse", "diverse") and vectors is None:
        vectors = _embeddings(classifier, texts, targets, embeddings, device, batch_size)
    chosen = select(
        strategy,
        n,
        probabilities=probabilities,
        embeddings=vectors,
        measure=measure,
        multi_label=classifier.multi_label,
        seed=seed,
        candidate_factor=candidate_factor,
    )
    unsure = uncertainty(probabilities, measure, classifier.multi_label)

    rows = []
    label_counts: Counter[str] = Counter()
    for rank, position in enumerate(chosen, start=1):
        prediction = classifier.decide(probabilities[position])
        values: list = [prediction.label, round(prediction.score, 6)]
        if csv_output:
            values += [round(prediction.scores[label], 6) for label in classifier.labels]
        else:
            values.append({label: round(value, 6) for label, value in prediction.scores.items()})
        if classifier.multi_label:
            values.append(prediction.labels)
        values += [round(float(unsure[position]), 6), rank]
        row = pool.fields(int(kept[position]))
        row.update(zip(added, values, strict=True))
        rows.append(row)
        label_counts[prediction.label] += 1
    write_records(output, rows)
    return SuggestSummary(
        output=output,
        pool_rows=len(pool),
        chosen=len(rows),
        strategy=strategy,
        measure=measure,
        id_field=pool.id_field,
        generated_ids=pool.generated_ids,
        repeats_in_pool=in_pool,
        repeats_of_labelled=of_labelled,
        labelled=labelled_read,
        label_counts={label: label_counts[label] for label in classifier.labels},
        mean_uncertainty_chosen=float(unsure[chosen].mean()),
        mean_uncertainty_pool=float(unsure.mean()),
        calibrated=classifier.temperature != 1.0,
    )
