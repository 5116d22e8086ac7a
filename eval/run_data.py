"""Read back what a run was trained and evaluated on: its config, its data splits, new data files.

New data is read with the run's own columns and checked against the run's labels, so an error
names the file, line and field just as in training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from stanceframe.errors import DataError
from stanceframe.model.classifier import Classifier
from stanceframe.run_files import read_meta
from stanceframe.training.config import DataConfig, RunConfig, config_from_dict
from stanceframe.training.data import LoadedData, Split, check_labels, load_data, load_split


def run_config(run_dir: Path) -> RunConfig | None:
    """The resolved config a run was trained with (None for a plain Hugging Face model folder)."""
    config_path = Path(run_dir) / "config.yaml"
    if not config_path.is_file():
        return None
    raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    return config_from_dict(raw, str(config_path))


def data_config(classifier: Classifier, **column_overrides: str | None) -> DataConfig:
    """The run's data settings (columns, labels), with any non-None column overrides applied."""
    config = run_config(classifier.run_dir)
    columns = {key: value for key, value in column_overrides.items() if value is not None}
    if config is not None:
        return config.data.model_copy(update=columns)
    target_column = classifier.run_meta.input.target_column
    defaults = {"train": "", "labels": classifier.labels, "multi_label": classifier.multi_label}
    if target_column:
        defaults["target_column"] = target_column
    return DataConfig(**{**defaults, **columns})


def load_eval_split(source: str, classifier: Classifier, settings: DataConfig) -> Split:
    """Read a labelled file in the run's columns and check every label is one the run knows."""
    split = load_split(source, "test", settings)
    split.name = Path(source.split(":", 1)[-1] if ":" in source else source).stem
    check_labels(split.examples, classifier.labels, settings.label_column)
    if classifier.needs_target and split.targets is None:
        raise DataError(
            f"{source}: this is a stance run; the data needs a target column "
            f"(set it with --target-column)"
        )
    return split


def load_run_splits(run_dir: Path) -> tuple[LoadedData, list[str]]:
    """Train, dev and test exactly as the run saw them, and warnings where a file changed since."""
    config = run_config(run_dir)
    if config is None:
        raise DataError(f"{run_dir}: no config.yaml, so the run's training data is unknown")
    loaded = load_data(config.data, config.training.seed)
    recorded = read_meta(run_dir).data
    warnings = []
    for split in (loaded.train, loaded.dev, loaded.test):
        if split is None:
            continue
        digest = recorded[split.name].sha256 if split.name in recorded else None
        if digest and split.fingerprint.get("sha256") not in (None, digest):
            warnings.append(
                f"{split.name} data {split.source} changed since the run was trained "
                f"(sha256 {split.fingerprint['sha256'][:12]}, trained on {digest[:12]})"
            )
    return loaded, warnings


def gold_array(split: Split, label_names: list[str], multi_label: bool) -> np.ndarray:
    """Gold labels as ids in `label_names` order, or a multi-hot matrix for multi-label runs."""
    if multi_label:
        return np.array(
            [
                [float(label in example.labels) for label in label_names]
                for example in split.examples
            ]
        )
    index = {label: position for position, label in enumerate(label_names)}
    return np.array([index[example.labels[0]] for example in split.examples], dtype=np.int64)
