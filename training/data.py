"""Load and validate labelled data (CSV, JSONL, Parquet, saved or hub datasets) before training.

Every problem is reported with the file, line (or row) and field, and all of it is checked before
a model is built, so a bad file never costs a training run.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stanceframe.errors import DataError
from stanceframe.records import RecordReader
from stanceframe.training.config import DataConfig

logger = logging.getLogger(__name__)

TEXT_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
}


@dataclass
class Example:
    text: str
    labels: list[str]
    target: str | None
    location: str  # "file line N" for error messages
    context: str | None = None  # the previous sentence of its article (data.context: previous)
    target_type: str | None = None  # data.target_type_column, for target swap
    group: str | None = None  # data.group_column, for target swap


@dataclass
class Split:
    name: str
    source: str
    examples: list[Example]
    fingerprint: dict[str, Any] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [example.text for example in self.examples]

    @property
    def targets(self) -> list[str] | None:
        if not self.examples or self.examples[0].target is None:
            return None
        return [example.target or "" for example in self.examples]

    @property
    def contexts(self) -> list[str]:
        """Each row's previous sentence, "" for a row that has none (read alone)."""
        return [example.context or "" for example in self.examples]


@dataclass
class LoadedData:
    label_names: list[str]
    train: Split
    dev: Split
    test: Split | None
    warnings: list[str] = field(default_factory=list)
    # data.extra_train, already in train's examples; kept for their fingerprints
    extra_train: list[Split] = field(default_factory=list)

    @property
    def splits(self) -> list[Split]:
        """Every split read, extra training data included, for fingerprints."""
        return [self.train, self.dev, *([self.test] if self.test else []), *self.extra_train]


# ---------------------------------------------------------------- reading raw records


def resolve_source(source: str) -> tuple[str, Path | str]:
    """Return (kind, location): kind is 'file', 'saved' (load_from_disk folder) or 'hub'."""
    if source.startswith("bundled:"):
        from stanceframe.data import bundled_path

        try:
            return "file", bundled_path(source.removeprefix("bundled:"))
        except FileNotFoundError as error:
            raise DataError(str(error)) from None
    if source.startswith("hf:"):
        return "hub", source.removeprefix("hf:")
    path = Path(source).expanduser()
    if path.is_dir():
        return "saved", path
    if not path.exists():
        raise DataError(f"{source}: file not found")
    if path.suffix.lower() not in TEXT_FORMATS:
        raise DataError(
            f"{source}: unknown file type {path.suffix!r}; use one of {', '.join(TEXT_FORMATS)}"
        )
    return "file", path


def _read_file(path: Path) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """Records as (location, record) pairs, and the file's sha256 for the fingerprint."""
    with RecordReader(path, TEXT_FORMATS[path.suffix.lower()]) as reader:
        records = [(record.location, record.fields) for record in reader]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return records, digest.hexdigest()


def _read_dataset(kind: str, location: Path | str, split_name: str):
    import datasets

    if kind == "saved":
        try:
            loaded = datasets.load_from_disk(str(location))
        except Exception as error:
            raise DataError(f"{location}: not a saved Hugging Face dataset ({error})") from error
        if isinstance(loaded, datasets.DatasetDict):
            wanted = {"train": "train", "dev": "validation", "test": "test"}[split_name]
            if wanted not in loaded:
                raise DataError(f"{location}: no split {wanted!r}; it has {', '.join(loaded)}")
            loaded = loaded[wanted]
        return loaded
    name, _, hub_split = str(location).partition("@")
    hub_split = hub_split or {"train": "train", "dev": "validation", "test": "test"}[split_name]
    try:
        return datasets.load_dataset(name, split=hub_split)
    except Exception as error:
        raise DataError(
            f"hf:{location}: could not load split {hub_split!r} from the Hugging Face hub ({error})"
        ) from error


def read_records(
    source: str, split_name: str
) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]:
    kind, location = resolve_source(source)
    if kind == "file":
        records, sha256 = _read_file(location)
        fingerprint = {"source": source, "path": str(location), "sha256": sha256}
    else:
        dataset = _read_dataset(kind, location, split_name)
        records = [(f"{source} row {index + 1}", row) for index, row in enumerate(dataset)]
        fingerprint = {
            "source": source,
            "dataset_fingerprint": getattr(dataset, "_fingerprint", None),
        }
    fingerprint["rows"] = len(records)
    return records, fingerprint


# ---------------------------------------------------------------- validation


def _cell_labels(value: Any, config: DataConfig, location: str) -> list[str]:
    column = config.label_column
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{location}: field {column!r} is empty")
    if isinstance(value, list):
        if not config.multi_label:
            raise DataError(
                f"{location}: field {column!r} holds a list; set data.multi_label: true"
            )
        labels = [str(item).strip() for item in value]
    elif config.multi_label and isinstance(value, str):
        labels = [part.strip() for part in value.split(config.label_separator) if part.strip()]
    elif isinstance(value, (str, int)) and not isinstance(value, bool):
        labels = [str(value).strip()]
    else:
        raise DataError(f"{location}: field {column!r} must be a label name, got {value!r}")
    return labels


def to_examples(
    records: list[tuple[str, dict[str, Any]]], config: DataConfig, source: str
) -> list[Example]:
    if not records:
        raise DataError(f"{source}: no rows")
    columns = [config.text_column, config.label_column]
    if config.target_column:
        columns.append(config.target_column)
    examples = []
    for location, record in records:
        for column in columns:
            if column not in record:
                present = ", ".join(map(str, record)) or "none"
                raise DataError(f"{location}: missing field {column!r} (fields present: {present})")
        text = record[config.text_column]
        if not isinstance(text, str):
            raise DataError(f"{location}: field {config.text_column!r} must be text, got {text!r}")
        if not text.strip():
            raise DataError(f"{location}: field {config.text_column!r} is empty")
        target = None
        if config.target_column:
            target = record[config.target_column]
            if not isinstance(target, str) or not target.strip():
                raise DataError(f"{location}: field {config.target_column!r} is empty or not text")
            target = target.strip()
        labels = _cell_labels(record[config.label_column], config, location)
        examples.append(
            Example(
                text=text.strip(),
                labels=labels,
                target=target,
                location=location,
                target_type=_optional_text(record, config.target_type_column),
                group=_optional_text(record, config.group_column),
            )
        )
    if config.context == "previous":
        attach_previous_sentences(examples, [record for _, record in records], config)
    return examples


def _optional_text(record: dict[str, Any], column: str | None) -> str | None:
    """A descriptive column that a user's file may lack (data.target_type_column, group_column)."""
    if column is None or record.get(column) in (None, ""):
        return None
    return str(record[column]).strip() or None


def attach_previous_sentences(
    examples: list[Example], records: list[dict[str, Any]], config: DataConfig
) -> None:
    """Give each article row the text of the row before it in its article (by position)."""
    by_article: dict[str, list[tuple[int, int]]] = {}
    for index, (example, record) in enumerate(zip(examples, records, strict=True)):
        article = record.get(config.article_column)
        if article is None or article == "":
            continue
        position = record.get(config.position_column)
        if position is None or position == "":
            position = len(by_article.get(str(article), []))  # file order
        try:
            position = int(position)
        except (TypeError, ValueError):
            raise DataError(
                f"{example.location}: field {config.position_column!r} must be a whole number, "
                f"got {position!r}"
            ) from None
        by_article.setdefault(str(article), []).append((position, index))
    for article, rows in by_article.items():
        rows.sort()
        for (previous_position, previous), (position, current) in zip(rows, rows[1:], strict=False):
            if position == previous_position:
                raise DataError(
                    f"{examples[current].location}: article {article!r} has two rows at "
                    f"{config.position_column} {position}"
                )
            examples[current].context = examples[previous].text


def check_labels(examples: list[Example], label_names: list[str], column: str) -> None:
    known = set(label_names)
    for example in examples:
        for label in example.labels:
            if label not in known:
                raise DataError(
                    f"{example.location}: field {column!r}: label {label!r} is not one of "
                    f"{', '.join(label_names)}"
                )


def load_split(source: str, split_name: str, config: DataConfig) -> Split:
    records, fingerprint = read_records(source, split_name)
    return Split(split_name, source, to_examples(records, config, source), fingerprint)


def stratified_dev_split(
    train: Split, fraction: float, seed: int
) -> tuple[Split, Split, str | None]:
    from sklearn.model_selection import train_test_split

    strata = [example.labels[0] for example in train.examples]
    counts = Counter(strata)
    warning = None
    stratify = strata
    n_dev = max(1, round(len(strata) * fraction))
    if min(counts.values()) < 2 or n_dev < len(counts):
        warning = "some labels have too few rows to stratify the dev split; it was drawn at random"
        stratify = None
    if len(strata) < 4:
        raise DataError(f"{train.source}: {len(strata)} rows are too few to split off a dev set")
    train_idx, dev_idx = train_test_split(
        list(range(len(strata))), test_size=n_dev, random_state=seed, stratify=stratify
    )
    described = (
        f"stratified {fraction:.0%} of train, seed {seed}"
        if stratify
        else f"random {fraction:.0%} of train, seed {seed}"
    )
    train_fingerprint = dict(
        train.fingerprint,
        rows=len(train_idx),
        file_rows=len(strata),
        split=f"rest after {described}",
    )
    dev_fingerprint = dict(
        train.fingerprint, rows=len(dev_idx), file_rows=len(strata), split=described
    )
    new_train = Split(
        "train", train.source, [train.examples[i] for i in sorted(train_idx)], train_fingerprint
    )
    dev = Split("dev", train.source, [train.examples[i] for i in sorted(dev_idx)], dev_fingerprint)
    return new_train, dev, warning


def dev_from_another_corpus(config: DataConfig) -> str | None:
    """The trap of `--set data.train=mine.csv` on a bundled config: dev stays the bundled corpus."""
    if not config.dev or not config.dev.startswith("bundled:"):
        return None
    if config.train.startswith("bundled:"):
        return None
    return (
        f"DEV FROM ANOTHER CORPUS: data.train is {config.train} but data.dev is still "
        f"{config.dev}, so early stopping and the kept checkpoint are chosen on the bundled corpus, "
        f"not on your data. Set data.dev to a dev file of yours, or --set data.dev=null to split a "
        f"stratified {config.dev_fraction:.0%} off your train file."
    )


def _key(example: Example) -> tuple[str, str | None]:
    return (example.text, example.target)


def load_data(config: DataConfig, seed: int) -> LoadedData:
    """Read, validate and split all data named in the config; raises DataError on the first problem."""
    train = load_split(config.train, "train", config)
    dev = load_split(config.dev, "dev", config) if config.dev else None
    test = load_split(config.test, "test", config) if config.test else None
    extra_train = [
        load_split(source, f"extra_train_{number}", config)
        for number, source in enumerate(config.extra_train, start=1)
    ]

    label_names = (
        list(config.labels)
        if config.labels
        else sorted({label for example in train.examples for label in example.labels})
    )
    if len(label_names) < 2:
        raise DataError(
            f"{config.train}: found only one label ({label_names[0]!r}); need two or more"
        )
    for split in (train, dev, test, *extra_train):
        if split is not None:
            check_labels(split.examples, label_names, config.label_column)

    warnings = []
    trap = dev_from_another_corpus(config)
    if trap:
        warnings.append(trap)
    if dev is None:
        train, dev, warning = stratified_dev_split(train, config.dev_fraction, seed)
        if warning:
            warnings.append(warning)
    if extra_train:
        train = Split(
            "train",
            train.source,
            train.examples + [example for extra in extra_train for example in extra.examples],
            train.fingerprint,
        )
    missing = [name for name in label_names if not any(name in ex.labels for ex in train.examples)]
    if missing:
        warnings.append(f"labels with no training rows: {', '.join(missing)}")
    missing_dev = [
        name
        for name in label_names
        if name not in missing and not any(name in ex.labels for ex in dev.examples)
    ]
    if missing_dev:
        warnings.append(
            f"{dev.source}: no dev rows of {', '.join(missing_dev)}; early stopping and the kept "
            "checkpoint cannot see how the model does on them"
        )
    if test is not None:
        shared = {_key(ex) for ex in train.examples} & {_key(ex) for ex in test.examples}
        if shared:
            warnings.append(f"{len(shared)} texts appear in both train and test (exact duplicates)")
    for warning in warnings:
        logger.warning(warning)
    return LoadedData(label_names, train, dev, test, warnings, extra_train)
