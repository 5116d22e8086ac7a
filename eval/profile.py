"""`stanceframe profile`: label a corpus (articles, or sentences) and estimate each group's label
shares (by outlet, by month, ...), corrected for the classifier's errors, with bootstrap intervals.

Sentence splitting and decisions are `analyze`'s own (model/sentences.py, `Classifier.decide`), so
the labels equal analyze's; the correction is eval/quantify.py; the output folder is staged and
swapped in by stanceframe/atomic.py. The Ray engine (eval/profile_ray.py) feeds the same
accumulation with the same sentence batches.
"""

from __future__ import annotations

import csv
import json
import re
import time as clock
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from stanceframe.atomic import check_replaceable, staged_folder, write_marker
from stanceframe.errors import DataError, RunDirError
from stanceframe.eval import quantify
from stanceframe.model.classifier import Classifier
from stanceframe.model.document import previous_sentences
from stanceframe.model.sentences import split_sentences
from stanceframe.records import Record, RecordReader, record_files
from stanceframe.run_files import read_json
from stanceframe.training.run_dir import QUANTIFICATION_FILE

if TYPE_CHECKING:
    import pandas as pd

TIME_UNITS = ("month", "week", "year")
GROUP_SEPARATOR = " | "
WHOLE_CORPUS = "all"  # the group name when there is neither --by nor --time
MIN_GROUP = 30
PROFILES_FILE = "profiles.json"
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class TimeGrouping:
    """`--time date:month`: records grouped by the calendar period of their `field`."""

    field: str
    unit: str = "month"

    @classmethod
    def parse(cls, text: str) -> TimeGrouping:
        name, _, unit = text.partition(":")
        unit = unit or "month"
        if not name or unit not in TIME_UNITS:
            raise ValueError(
                f"--time {text!r}: give FIELD:UNIT with UNIT one of {', '.join(TIME_UNITS)} "
                "(e.g. --time date:month)"
            )
        return cls(name, unit)

    @property
    def column(self) -> str:
        return f"{self.field}_{self.unit}"

    def period(self, value: Any, location: str) -> str:
        day = _as_date(value, location, self.field)
        if self.unit == "year":
            return f"{day.year:04d}"
        if self.unit == "week":
            iso = day.isocalendar()
            return f"{iso.year:04d}-W{iso.week:02d}"
        return f"{day.year:04d}-{day.month:02d}"


def _as_date(value: Any, location: str, field_name: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        text = value.strip()
        month = _YEAR_MONTH.match(text)
        try:
            if month:
                return date(int(month[1]), int(month[2]), 1)
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    if value is None or value == "":
        problem = "is missing" if value is None else "is empty"
        raise DataError(f"{location}: field {field_name!r} (--time) {problem}")
    raise DataError(
        f"{location}: field {field_name!r}: {value!r} is not a date; --time reads ISO dates "
        "such as 2024-03-07, 2024-03-07T09:30:00Z or 2024-03"
    )


@dataclass
class ProfileSettings:
    by: list[str] = field(default_factory=list)
    time: TimeGrouping | None = None
    method: str = quantify.DEFAULT_METHOD
    sentences: bool = False  # records are sentences (with an article field), not articles
    min_group: int = MIN_GROUP
    resamples: int = quantify.RESAMPLES
    seed: int = 0
    text_field: str = "text"
    id_field: str = "id"
    article_field: str = "article"  # --sentences: the field naming each sentence's article
    target: str | None = None
    target_field: str | None = None
    batch_size: int = 32
    articles_per_chunk: int = 64

    def __post_init__(self) -> None:
        if self.method not in quantify.METHODS:
            raise ValueError(
                f"--method {self.method!r} is not one of {', '.join(quantify.METHODS)}"
            )
        if len(set(self.by)) != len(self.by):
            raise ValueError(f"--by names a field twice: {', '.join(self.by)}")
        if self.resamples < 10:
            raise ValueError("--resamples must be at least 10")

    @property
    def group_columns(self) -> list[str]:
        return [*self.by, *([self.time.column] if self.time else [])]

    @classmethod
    def for_run(
        cls,
        classifier: Classifier,
        by: Sequence[str] | str | None = None,
        time: str | None = None,
        article_field: str | None = None,
        **fields: Any,
    ) -> ProfileSettings:
        """Settings as `profile()` and the CLI take them: --by as one field or several, --time as
        FIELD:month|week|year, the article field by default the one the run was trained with."""
        return cls(
            by=[by] if isinstance(by, str) else list(by or []),
            time=TimeGrouping.parse(time) if time else None,
            article_field=article_field or classifier.run_meta.input.article_column or "article",
            **fields,
        )


# ------------------------------------------------------------------ reading the corpus


@dataclass
class CorpusItem:
    """One article (or, with --sentences, one sentence) as profile reads it."""

    id: str  # the article's id
    text: str
    source: str  # "feed.jsonl line 4", for messages
    key: tuple[str, ...]  # the group: --by values, then the --time period
    target: str | None = None
    index: int = 0  # --sentences: the sentence's position in its article
    context: str | None = None  # --sentences: the previous sentence of its article


def _field_value(record: Record, name: str, option: str) -> str:
    value = record.fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        problem = "is missing" if name not in record.fields else "is empty"
        raise DataError(
            f"{record.location}: field {name!r} ({option}) {problem}; every record needs it "
            f"(the record's fields: {', '.join(record.fields) or 'none'})"
        )
    if isinstance(value, (dict, list)):
        raise DataError(f"{record.location}: field {name!r} ({option}) must be text or a number")
    return str(value)


def _text(record: Record, name: str) -> str:
    text = record.fields.get(name)
    if not isinstance(text, str) or not text.strip():
        problem = "missing" if name not in record.fields else "empty or not text"
        raise DataError(f"{record.location}: field {name!r} is {problem}")
    return text


def group_key(record: Record, settings: ProfileSettings) -> tuple[str, ...]:
    key = tuple(_field_value(record, name, "--by") for name in settings.by)
    if settings.time is not None:
        key += (settings.time.period(record.fields.get(settings.time.field), record.location),)
    return key


def read_items(
    records: Iterable[Record], stem: str, settings: ProfileSettings
) -> Iterator[CorpusItem]:
    """The corpus items of one input, in order. For --sentences, each sentence's index and
    previous sentence in its article are found here, in reading order (as `predict` does)."""
    positions: dict[str, int] = {}
    previous: dict[str, str] = {}
    for record in records:
        text = _text(record, settings.text_field)
        key = group_key(record, settings)
        target = None
        if settings.target_field:
            target = _field_value(record, settings.target_field, "--target-field")
        if not settings.sentences:
            raw_id = record.fields.get(settings.id_field)
            if raw_id is not None and not isinstance(raw_id, (str, int)):
                raise DataError(
                    f"{record.location}: field {settings.id_field!r} must be a string or a number"
                )
            article = str(raw_id) if raw_id not in (None, "") else f"{stem}-{record.line}"
            yield CorpusItem(article, text, record.location, key, target)
            continue
        raw_article = record.fields.get(settings.article_field)
        if raw_article in (None, ""):  # a sentence on its own
            yield CorpusItem(f"{stem}-{record.line}", text, record.location, key, target)
            continue
        article = str(raw_article)
        index = positions.get(article, 0)
        positions[article] = index + 1
        yield CorpusItem(article, text, record.location, key, target, index, previous.get(article))
        previous[article] = text


def read_file_items(path: Path, settings: ProfileSettings) -> Iterator[CorpusItem]:
    with RecordReader(path) as reader:
        yield from read_items(reader, path.stem, settings)


def memory_records(rows: Any) -> Iterator[Record]:
    """Records from a pandas DataFrame or a list of dicts (the Python API), numbered from 1."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        rows = rows.to_dict(orient="records")
    for number, fields in enumerate(rows, start=1):
        if not isinstance(fields, dict):
            raise DataError(f"records row {number}: expected a dict of fields")
        yield Record(dict(fields), "records", number, "row")


# ------------------------------------------------------------------ labelling


@dataclass
class SentenceBatch:
    """Labelled sentences, in corpus order: what both engines hand to the accumulation."""

    article: list[str]
    source: list[str]
    key: list[tuple[str, ...]]
    sentence: np.ndarray  # position in its article
    label: np.ndarray  # label ids (the run's decision, as analyze makes it)
    score: np.ndarray
    posteriors: np.ndarray  # [n, k] calibrated, without priors: what the correction reads

    def __len__(self) -> int:
        return len(self.article)

    def to_columns(self, width: int) -> dict[str, Any]:
        """Flat columns (Ray Data's batches): the key as key_0.., posteriors as p_0.."""
        columns: dict[str, Any] = {
            "article": np.array(self.article, dtype=object),
            "source": np.array(self.source, dtype=object),
            "sentence": self.sentence,
            "label": self.label,
            "score": self.score,
        }
        for position in range(width):
            columns[f"key_{position}"] = np.array([key[position] for key in self.key], dtype=object)
        for label in range(self.posteriors.shape[1]):
            columns[f"p_{label}"] = self.posteriors[:, label]
        return columns

    @classmethod
    def from_columns(cls, columns: dict[str, Any], width: int, n_labels: int) -> SentenceBatch:
        keys = [list(map(str, columns[f"key_{position}"])) for position in range(width)]
        return cls(
            article=[str(value) for value in columns["article"]],
            source=[str(value) for value in columns["source"]],
            key=list(zip(*keys, strict=True)) if width else [()] * len(columns["article"]),
            sentence=np.asarray(columns["sentence"], dtype=np.int64),
            label=np.asarray(columns["label"], dtype=np.int64),
            score=np.asarray(columns["score"], dtype=np.float64),
            posteriors=np.stack(
                [np.asarray(columns[f"p_{label}"], dtype=np.float64) for label in range(n_labels)],
                axis=1,
            ),
        )


class Labeller:
    """Labels chunks of corpus items with one Classifier (an engine's worker holds one)."""

    def __init__(self, classifier: Classifier, settings: ProfileSettings):
        check_classifier(classifier, settings)
        self.classifier = classifier
        self.unshifted = classifier.with_priors(None) if classifier.priors else classifier
        self.settings = settings
        self.index = {label: position for position, label in enumerate(classifier.labels)}

    def label(self, items: Sequence[CorpusItem]) -> SentenceBatch:
        texts: list[str] = []
        contexts: list[str | None] = []
        targets: list[str] = []
        owners: list[CorpusItem] = []
        positions: list[int] = []
        for item in items:
            if self.settings.sentences:
                sentences, item_contexts, item_positions = [item.text], [item.context], [item.index]
            else:
                sentences = [span.text for span in split_sentences(item.text).sentences]
                item_contexts = previous_sentences(sentences)
                item_positions = list(range(len(sentences)))
            texts += sentences
            contexts += item_contexts
            positions += item_positions
            owners += [item] * len(sentences)
            targets += [item.target or self.settings.target or ""] * len(sentences)
        k = len(self.classifier.labels)
        if not texts:
            return SentenceBatch([], [], [], np.zeros(0, np.int64), np.zeros(0, np.int64),
                                 np.zeros(0), np.zeros((0, k)))  # fmt: skip
        try:
            logits = self.classifier.logits(
                texts,
                targets if self.classifier.needs_target else None,
                self.settings.batch_size,
                contexts=contexts,
            )
        except ValueError as error:
            raise DataError(f"{items[0].source}: {error}") from error
        scores = self.classifier.probabilities(logits)
        decisions = [self.classifier.decide(row) for row in scores]
        posteriors = scores if self.unshifted is self.classifier else None
        if posteriors is None:
            posteriors = self.unshifted.probabilities(logits)
        return SentenceBatch(
            article=[owner.id for owner in owners],
            source=[owner.source for owner in owners],
            key=[owner.key for owner in owners],
            sentence=np.asarray(positions, dtype=np.int64),
            label=np.array([self.index[decision.label] for decision in decisions], np.int64),
            score=np.array([decision.score for decision in decisions], dtype=np.float64),
            posteriors=np.asarray(posteriors, dtype=np.float64),
        )


def check_classifier(classifier: Classifier, settings: ProfileSettings) -> None:
    if classifier.multi_label:
        raise ValueError(f"{classifier.run_dir}: profile estimates shares of single-label runs")
    if classifier.needs_target and not (settings.target or settings.target_field):
        raise DataError(
            f"{classifier.run_dir} is a stance model; give --target (one for every record) or "
            "--target-field (the field holding each record's target)"
        )
    if not classifier.needs_target and (settings.target or settings.target_field):
        raise DataError(
            f"{classifier.run_dir} labels sentences on their own; leave out --target and "
            "--target-field"
        )


def _chunks(items: Iterable[CorpusItem], size: int) -> Iterator[list[CorpusItem]]:
    chunk: list[CorpusItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def label_locally(
    classifier: Classifier, items: Iterable[CorpusItem], settings: ProfileSettings
) -> Iterator[SentenceBatch]:
    labeller = Labeller(classifier, settings)
    for chunk in _chunks(items, settings.articles_per_chunk):
        yield labeller.label(chunk)


# ------------------------------------------------------------------ dev statistics


def dev_statistics(
    classifier: Classifier, dev: str | None = None, *, batch_size: int = 32
) -> tuple[quantify.DevStatistics, dict[str, Any], list[str]]:
    """The run's dev statistics (RUN/quantification.json, written by train and calibrate), or ones
    computed now from `dev` (a labelled file) or, for a run older than that file, its dev split."""
    notes: list[str] = []
    stored = classifier.run_dir / QUANTIFICATION_FILE
    if dev is None and stored.is_file():
        record = read_json(stored)
        if list(record.get("labels") or []) != classifier.labels:
            raise RunDirError(
                f"{stored}: its labels ({', '.join(record.get('labels') or [])}) are not the "
                f"run's ({', '.join(classifier.labels)}); `stanceframe calibrate "
                f"{classifier.run_dir}` writes it anew"
            )
        gold = np.asarray(record["gold"], dtype=np.int64)
        logits = np.asarray(record["logits"], dtype=np.float32)
        info = {
            "from": str(stored),
            "source": record.get("source"),
            "written_by": record.get("written_by"),
            "fingerprint": record.get("fingerprint"),
        }
    else:
        from stanceframe.eval.run_data import (
            data_config,
            gold_array,
            load_eval_split,
            load_run_splits,
        )

        if dev is not None:
            split = load_eval_split(dev, classifier, data_config(classifier))
        else:
            try:
                split = load_run_splits(classifier.run_dir)[0].dev
            except DataError as error:
                raise RunDirError(
                    f"{classifier.run_dir}: no {QUANTIFICATION_FILE} and the run's dev split "
                    f"cannot be read ({error}); give labelled dev data with --dev"
                ) from error
            notes.append(
                f"{classifier.run_dir} has no {QUANTIFICATION_FILE} (trained before it was "
                "stored): the dev statistics were computed now from its dev split; "
                f"`stanceframe calibrate {classifier.run_dir}` stores them"
            )
        gold = gold_array(split, classifier.labels, False)
        logits = classifier.logits(split.texts, split.targets, batch_size, contexts=split.contexts)
        info = {
            "from": "computed now",
            "source": split.source,
            "written_by": None,
            "fingerprint": split.fingerprint,
        }
    scores = classifier.probabilities(logits)
    index = {label: position for position, label in enumerate(classifier.labels)}
    decisions = np.array([index[classifier.decide(row).label] for row in scores])
    unshifted = classifier.with_priors(None) if classifier.priors else classifier
    posteriors = unshifted.probabilities(logits)
    statistics = quantify.DevStatistics(
        classifier.labels,
        gold,
        decisions,
        posteriors,
        str(info["source"]),
        reference_prior=classifier.prior_vector(classifier.training_prior),
    )
    info["rows"] = len(statistics)
    info["confusion"] = statistics.confusion().tolist()
    info["accuracy"] = float((statistics.gold == statistics.decisions).mean())
    if classifier.temperature == 1.0:
        notes.append(
            "the run is not calibrated; `stanceframe calibrate` makes its posteriors, and so "
            "the em and pcc corrections, more trustworthy"
        )
    return statistics, info, notes


# ------------------------------------------------------------------ accumulation


class SentencesWriter:
    """DIR/sentences.csv: one row per sentence, written as the batches arrive."""

    def __init__(self, stream: IO[str], label_names: list[str], group_columns: list[str]):
        self.writer = csv.writer(stream)
        self.label_names = label_names
        self.writer.writerow(["id", "sentence", "label", "score", *group_columns])

    def write(self, batch: SentenceBatch) -> None:
        for row in range(len(batch)):
            self.writer.writerow(
                [
                    batch.article[row],
                    int(batch.sentence[row]),
                    self.label_names[int(batch.label[row])],
                    round(float(batch.score[row]), 6),
                    *batch.key[row],
                ]
            )


class Accumulator:
    """Everything the estimates need, gathered from sentence batches in corpus order."""

    def __init__(self, settings: ProfileSettings):
        self.settings = settings
        self.groups: dict[tuple[str, ...], int] = {}
        self.articles: dict[str, int] = {}
        self.first_source: dict[str, str] = {}
        self.last_article: str | None = None
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, batch: SentenceBatch) -> None:
        group_ids = np.empty(len(batch), dtype=np.int64)
        cluster_ids = np.empty(len(batch), dtype=np.int64)
        for row, (article, source, key) in enumerate(
            zip(batch.article, batch.source, batch.key, strict=True)
        ):
            if not self.settings.sentences and article != self.last_article:
                if article in self.first_source:
                    raise DataError(
                        f"{source}: article id {article!r} was already used by "
                        f"{self.first_source[article]}; ids must be unique"
                    )
                self.first_source[article] = source
            self.last_article = article
            group_ids[row] = self.groups.setdefault(key, len(self.groups))
            cluster_ids[row] = self.articles.setdefault(article, len(self.articles))
        self.parts.append((group_ids, cluster_ids, batch.label, batch.posteriors))

    @property
    def sentences(self) -> int:
        return sum(len(part[0]) for part in self.parts)

    def arrays(self, n_labels: int) -> tuple[np.ndarray, ...]:
        if not self.parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, np.zeros((0, n_labels))
        return tuple(np.concatenate([part[i] for part in self.parts]) for i in range(4))


# ------------------------------------------------------------------ the result


@dataclass
class ProfileResult:
    table: pd.DataFrame  # profiles.csv
    overall: pd.DataFrame  # the whole corpus, one row per label
    summary: dict[str, Any]  # profiles.json
    settings: ProfileSettings
    label_names: list[str]


def _rows(
    name: str, values: tuple[str, ...], result: quantify.GroupEstimate, labels: list[str],
    settings: ProfileSettings,
) -> list[dict[str, Any]]:  # fmt: skip
    split_fields = dict(zip(settings.group_columns, values, strict=True))
    return [
        {
            "group": name,
            "label": label,
            "sentences": result.sentences,
            "articles": result.articles,
            "share": float(result.share[index]),
            "corrected_share": float(result.corrected[index]),
            "ci_low": float(result.low[index]),
            "ci_high": float(result.high[index]),
            **(split_fields if len(settings.group_columns) > 1 else {}),
            "small_group": result.sentences < settings.min_group,
        }
        for index, label in enumerate(labels)
    ]


def estimate_profiles(
    accumulator: Accumulator,
    statistics: quantify.DevStatistics,
    settings: ProfileSettings,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of profiles.csv (groups in sorted order) and the whole corpus's rows."""
    labels = statistics.labels
    group_ids, cluster_ids, decisions, posteriors = accumulator.arrays(len(labels))
    dev = quantify.resample_dev(settings.method, statistics, settings.resamples, settings.seed)
    rows: list[dict[str, Any]] = []
    for position, key in enumerate(sorted(accumulator.groups)):
        members = group_ids == accumulator.groups[key]
        rng = np.random.default_rng([settings.seed, 1, position])
        result = quantify.estimate_group(
            dev, decisions[members], posteriors[members], cluster_ids[members], rng
        )
        name = GROUP_SEPARATOR.join(key) if key else WHOLE_CORPUS
        rows += _rows(name, key, result, labels, settings)
    overall = quantify.estimate_group(
        dev, decisions, posteriors, cluster_ids, np.random.default_rng([settings.seed, 2])
    )
    whole = ProfileSettings(min_group=settings.min_group)
    return rows, _rows(WHOLE_CORPUS, (), overall, labels, whole)


def _describe_inputs(inputs: Any) -> list[str]:
    if isinstance(inputs, (str, Path)):
        return [str(inputs)]
    if isinstance(inputs, (list, tuple)) and all(isinstance(i, (str, Path)) for i in inputs):
        return [str(i) for i in inputs]
    return ["records given in Python"]


def _is_paths(records: Any) -> bool:
    if isinstance(records, (str, Path)):
        return True
    return isinstance(records, (list, tuple)) and all(isinstance(r, (str, Path)) for r in records)


def compute_profile(
    classifier: Classifier,
    records: Any,
    settings: ProfileSettings,
    *,
    dev: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    sentence_sink: Callable[[SentenceBatch], None] | None = None,
    run_options: dict[str, Any] | None = None,
) -> ProfileResult:
    """Label `records` (paths, globs, folders; or a DataFrame or list of dicts) with `classifier`
    and estimate each group's shares. `sentence_sink` sees every labelled batch, in order."""
    import pandas as pd

    check_classifier(classifier, settings)
    started = clock.perf_counter()
    statistics, dev_info, notes = dev_statistics(classifier, dev, batch_size=settings.batch_size)
    accumulator = Accumulator(settings)
    if engine == "ray":
        if not _is_paths(records):
            raise ValueError("--engine ray reads files; give paths, folders or globs")
        from stanceframe.eval.profile_ray import label_with_ray

        batches = label_with_ray(
            classifier, record_files(_as_list(records)), settings, ray_address, run_options or {}
        )
    elif engine == "local":
        if _is_paths(records):
            files = record_files(_as_list(records))
            items: Iterable[CorpusItem] = (
                item for path in files for item in read_file_items(path, settings)
            )
        else:
            items = read_items(memory_records(records), "records", settings)
        batches = label_locally(classifier, items, settings)
    else:
        raise ValueError(f"--engine {engine!r} is not one of local, ray")
    for batch in batches:
        accumulator.add(batch)
        if sentence_sink is not None:
            sentence_sink(batch)
    labelled_s = clock.perf_counter() - started
    if not accumulator.articles:
        raise DataError(
            f"{', '.join(_describe_inputs(records))}: the corpus is empty (no records with text)"
        )
    rows, overall_rows = estimate_profiles(accumulator, statistics, settings)
    table = pd.DataFrame(rows)
    overall = pd.DataFrame(overall_rows)
    small = sorted({row["group"] for row in rows if row["small_group"]})
    summary = {
        "run": str(classifier.run_dir),
        "corpus": _describe_inputs(records),
        "records": "sentences" if settings.sentences else "articles",
        "by": settings.by,
        "time": None
        if settings.time is None
        else {"field": settings.time.field, "unit": settings.time.unit},
        "method": settings.method,
        "method_description": quantify.METHODS[settings.method],
        "default_method": quantify.DEFAULT_METHOD,
        "interval": {
            "confidence": quantify.CONFIDENCE,
            "kind": "percentile bootstrap over articles (within each group)"
            + (" and dev rows" if settings.method in ("acc", "pacc") else ""),
            "dev_resampled": settings.method in ("acc", "pacc"),
            "resamples": settings.resamples,
            "seed": settings.seed,
        },
        "dev": dev_info,
        "classifier": {
            "labels": classifier.labels,
            "temperature": classifier.temperature,
            "priors": classifier.priors,
            "context": classifier.context,
        },
        "min_group": settings.min_group,
        "articles": len(accumulator.articles),
        "sentences": accumulator.sentences,
        "groups": len(accumulator.groups),
        "small_groups": small,
        "overall": {
            row["label"]: {
                key: row[key] for key in ("share", "corrected_share", "ci_low", "ci_high")
            }
            for row in overall_rows
        },
        "engine": engine,
        "seconds": {"labelling": labelled_s, "total": clock.perf_counter() - started},
        "notes": notes,
        "created_at": clock.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return ProfileResult(table, overall, summary, settings, classifier.labels)


def _as_list(records: Any) -> list[str | Path]:
    return [records] if isinstance(records, (str, Path)) else list(records)


# ------------------------------------------------------------------ writing


def write_profile(
    classifier: Classifier,
    records: Any,
    out_dir: str | Path,
    settings: ProfileSettings,
    *,
    overwrite: bool = False,
    dev: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    command: str | None = None,
    run_options: dict[str, Any] | None = None,
) -> ProfileResult:
    """Write DIR/profiles.csv, sentences.csv, profiles.json and report.html, all or nothing."""
    from stanceframe.eval.profile_report import render_profile_report

    out_path = Path(out_dir)
    protect = [classifier.run_dir]
    if _is_paths(records):
        protect += [Path(path) for path in _as_list(records) if Path(path).exists()]
    check_replaceable(out_path, overwrite, writer="stanceframe profile", protect=protect)
    with staged_folder(out_path) as staging:
        with (staging / "sentences.csv").open("w", encoding="utf-8", newline="") as stream:
            writer = SentencesWriter(stream, classifier.labels, settings.group_columns)
            result = compute_profile(
                classifier,
                records,
                settings,
                dev=dev,
                engine=engine,
                ray_address=ray_address,
                sentence_sink=writer.write,
                run_options=run_options,
            )
        result.summary["command"] = command
        result.table.to_csv(staging / "profiles.csv", index=False, float_format="%.6f")
        (staging / PROFILES_FILE).write_text(
            json.dumps(result.summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / "report.html").write_text(render_profile_report(result), encoding="utf-8")
        write_marker(staging, "profile")
    return result


def profile(
    run: str | Path | Classifier,
    records: Any,
    by: Sequence[str] | str | None = None,
    *,
    time: str | None = None,
    method: str = quantify.DEFAULT_METHOD,
    sentences: bool = False,
    min_group: int = MIN_GROUP,
    resamples: int = quantify.RESAMPLES,
    seed: int = 0,
    dev: str | None = None,
    engine: str = "local",
    ray_address: str | None = None,
    device: str = "auto",
    **options: Any,
) -> pd.DataFrame:
    """Label shares of each group of `records`, corrected for the run's errors, as a DataFrame:
    group, label, sentences, articles, share, corrected_share, ci_low, ci_high (95%), the group's
    fields when there are several, small_group. `df.attrs["profile"]` holds what profiles.json
    does (method, dev statistics, the whole corpus's shares).

    >>> profile("runs/framing", "news/*.jsonl", by="outlet", time="date:month")  # doctest: +SKIP
    """
    classifier = run if isinstance(run, Classifier) else Classifier.load(run, device=device)
    settings = ProfileSettings.for_run(
        classifier,
        by,
        time,
        method=method,
        sentences=sentences,
        min_group=min_group,
        resamples=resamples,
        seed=seed,
        **options,
    )
    result = compute_profile(
        classifier, records, settings, dev=dev, engine=engine, ray_address=ray_address
    )
    table = result.table
    table.attrs["profile"] = result.summary
    return table
