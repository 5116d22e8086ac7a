"""The run directory's files: `RunMeta`, the one schema of stanceframe.json (read, written and
rewritten only here), and the checks that a missing, empty, truncated, corrupt or inconsistent file
is a RunDirError that names it, not a traceback or garbage labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_serializer,
)

from stanceframe.atomic import write_json
from stanceframe.errors import RunDirError, problem_field

META_FILE = "stanceframe.json"
FORMAT_VERSION = 1
HF_CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
# Any one of these holds a vocabulary; tokenizer_config.json alone loads, but maps every word to [UNK].
TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)


# ---------------------------------------------------------------- stanceframe.json


class _Record(BaseModel):
    # Fields this version does not know (from an older or newer stanceframe) are kept as they are.
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class RunInput(_Record):
    """How the run reads a row: the data config's columns (`data.*`)."""

    text_column: str = "text"
    target_column: str | None = None  # a stance run reads each text with its target
    target_position: str = "second"  # "first": the target before the text
    context: str = "none"  # "previous": with the sentence before it in its article
    article_column: str = "article"
    position_column: str = "position"


class RunInference(_Record):
    """The decision settings (`inference.*`); `stanceframe priors --write` sets `priors`."""

    threshold: float = 0.5
    thresholds: dict[str, float] | None = None
    abstain_threshold: float | None = None
    fallback_label: str | None = None
    priors: dict[str, float] | None = None


class DataFingerprint(_Record):
    """What a split was read from: a file's path and sha256, or a dataset's fingerprint; for a dev
    split drawn from train, how it was drawn."""

    source: str
    path: str | None = None
    sha256: str | None = None
    dataset_fingerprint: str | None = None
    rows: int
    file_rows: int | None = None  # rows of the file a split was drawn from
    split: str | None = None  # e.g. "stratified 15% of train, seed 42"

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler) -> dict[str, Any]:
        # a file has no dataset fingerprint and a dataset no path: write each kind as it is
        return {name: value for name, value in handler(self).items() if value is not None}


class DistillationRecord(_Record):
    soft_labels: str
    temperature: float
    alpha: float
    soft_label_rows: int | None = None
    matched_train_rows: int | None = None
    train_rows: int | None = None
    unlabelled_rows: int | None = None


class TrainingRecord(_Record):
    """How the training went; the checkpoints are gone with the staging folder."""

    global_step: int | None = None
    distillation: DistillationRecord | None = None
    train_rows: int | None = None  # including target_swap_rows
    target_swap_rows: int | None = None
    best_step: int | None = None
    best_dev_macro_f1: float | None = None
    runtime_s: float | None = None
    train_samples_per_second: float | None = None
    device: str | None = None
    precision: str | None = None
    # data warnings, and what changed if the run was resumed with --force-resume
    warnings: list[str] = []


class CalibrationRecord(_Record):
    """What `stanceframe calibrate` fitted the temperature on."""

    temperature: float | None = None
    previous_temperature: float | None = None
    n: int | None = None
    data: str | None = None  # what it was fitted on, in words
    nll_before: float | None = None
    nll_after: float | None = None
    ece_before: float | None = None
    ece_after: float | None = None
    warnings: list[str] = []
    method: str = "temperature scaling"
    data_fingerprint: dict[str, Any] | None = None
    fitted_at: str | None = None


class RunMeta(_Record):
    """stanceframe.json: what a run is (labels, input, settings) and where it came from.

    Written by training, rewritten by `calibrate` (temperature, calibration) and `priors --write`
    (inference.priors) through `update_meta`; fields that older runs lack have defaults.
    """

    format_version: int = FORMAT_VERSION
    task: str | None = None
    labels: list[StrictStr] = Field(min_length=2)
    multi_label: bool = False
    input: RunInput = RunInput()
    # label shares the model was fitted to (class weights included): the reference that
    # inference.priors shifts decisions away from; None for multi-label runs
    training_prior: dict[str, float] | None = None
    max_length: int | None = Field(None, gt=0)
    base_model: str | None = None
    inference: RunInference = RunInference()
    temperature: float | None = Field(None, gt=0)  # None: not calibrated
    calibration: CalibrationRecord | None = None
    data: dict[str, DataFingerprint] = {}
    training: TrainingRecord = TrainingRecord()
    versions: dict[str, str] = {}
    created_at: str | None = None

    @field_validator("labels")
    @classmethod
    def _labels_unique(cls, labels: list[str]) -> list[str]:
        if len(set(labels)) != len(labels):
            raise ValueError("labels must be unique")
        return labels

    @field_validator("input", "inference", "training", "data", "versions", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


def read_json(path: Path) -> Any:
    """A JSON file of a run; a damaged one is an error naming it and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunDirError(f"{path}: missing") from None
    except UnicodeDecodeError as error:
        raise RunDirError(f"{path}: damaged (not UTF-8 text at byte {error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RunDirError(
            f"{path} line {error.lineno}: damaged, not valid JSON ({error.msg}); restore the file "
            "or train the run again"
        ) from None


def validate_meta(content: Any, source: Path) -> RunMeta:
    """`content` checked against RunMeta; a problem is a RunDirError naming `source` and the field."""
    if not isinstance(content, dict):
        raise RunDirError(f"{source}: damaged, expected a JSON object")
    try:
        return RunMeta.model_validate(content)
    except ValidationError as error:
        problem = error.errors()[0]
        raise RunDirError(f"{source}: field {problem_field(problem)!r}: {problem['msg']}") from None


def read_meta(run_dir: Path) -> RunMeta:
    """stanceframe.json of a run, validated."""
    meta_path = Path(run_dir) / META_FILE
    if not meta_path.is_file():
        raise RunDirError(f"{run_dir}: not a stanceframe run ({META_FILE} is missing)")
    return validate_meta(read_json(meta_path), meta_path)


def write_meta(run_dir: Path, meta: RunMeta) -> None:
    """Write stanceframe.json whole (staged beside it, then swapped in)."""
    write_json(Path(run_dir) / META_FILE, meta.model_dump(mode="json"))


def update_meta(run_dir: Path, **changes: Any) -> RunMeta:
    """Replace top-level fields of a run's stanceframe.json, e.g. `temperature=1.3`; the result is
    validated before it is written, so a bad change leaves the file as it was."""
    meta_path = Path(run_dir) / META_FILE
    current = read_meta(run_dir).model_dump(mode="json")
    for name, value in changes.items():
        current[name] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    updated = validate_meta(current, meta_path)
    write_meta(run_dir, updated)
    return updated


# ---------------------------------------------------------------- the model's files


def config_labels(run_dir: Path) -> list[str]:
    """The label names in config.json's id2label, in id order."""
    config_path = Path(run_dir) / HF_CONFIG_FILE
    hf_config = read_json(config_path)
    if not isinstance(hf_config, dict):
        raise RunDirError(f"{config_path}: damaged, expected a JSON object")
    id2label = hf_config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise RunDirError(f"{config_path}: field 'id2label' is missing or empty")
    try:
        ids = sorted(id2label, key=int)
    except ValueError:
        raise RunDirError(f"{config_path}: field 'id2label' has keys that are not ids") from None
    if [int(key) for key in ids] != list(range(len(ids))):
        raise RunDirError(f"{config_path}: field 'id2label' must number the labels 0, 1, 2, ...")
    return [str(id2label[key]) for key in ids]


def check_labels(run_dir: Path, labels: list[str]) -> None:
    """stanceframe.json's labels and config.json's id2label must be the same list, in order."""
    model_labels = config_labels(run_dir)
    if model_labels != list(labels):
        raise RunDirError(
            f"{Path(run_dir) / META_FILE}: field 'labels' ({', '.join(labels)}) does not match "
            f"{HF_CONFIG_FILE}'s id2label ({', '.join(model_labels)}); the files come from "
            "different runs"
        )


def check_tokenizer(run_dir: Path) -> None:
    if not any((Path(run_dir) / name).is_file() for name in TOKENIZER_FILES):
        raise RunDirError(
            f"{run_dir}: no tokenizer files (none of {', '.join(TOKENIZER_FILES[:3])}, ...); "
            "copy them from the base model the run was trained from, or train it again"
        )


def check_weights(run_dir: Path) -> None:
    """model.safetensors (or each shard an index names) is there and as long as its header says."""
    index_path = Path(run_dir) / WEIGHTS_INDEX_FILE
    if index_path.is_file():
        index = read_json(index_path)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise RunDirError(f"{index_path}: field 'weight_map' is missing or empty")
        shards = sorted(set(map(str, weight_map.values())))
    else:
        shards = [WEIGHTS_FILE]
    for shard in shards:
        _check_safetensors(Path(run_dir) / shard)


def _check_safetensors(path: Path) -> None:
    again = "restore the file or train the run again"
    if not path.is_file():
        raise RunDirError(f"{path}: missing, so the run has no model weights; {again}")
    size = path.stat().st_size
    if size == 0:
        raise RunDirError(f"{path}: empty (0 bytes); {again}")
    with path.open("rb") as handle:
        prefix = handle.read(8)
        header_size = int.from_bytes(prefix, "little") if len(prefix) == 8 else size
        if header_size > size - 8:
            raise RunDirError(f"{path}: truncated ({size} bytes, shorter than its header); {again}")
        try:
            header = json.loads(handle.read(header_size))
            end = max(
                (
                    int(entry["data_offsets"][1])
                    for name, entry in header.items()
                    if name != "__metadata__"
                ),
                default=0,
            )
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            raise RunDirError(f"{path}: damaged, not a safetensors file; {again}") from None
    expected = 8 + header_size + end
    if size < expected:
        raise RunDirError(f"{path}: truncated ({size} of {expected} bytes); {again}")
