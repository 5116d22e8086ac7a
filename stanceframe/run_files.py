"""Check a run directory's files before anything is loaded from them: a missing, empty, truncated,
corrupt or inconsistent file is a RunDirError that names it, not a traceback or garbage labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from stanceframe.errors import RunDirError

META_FILE = "stanceframe.json"
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


class _MetaFields(BaseModel):
    """The fields of stanceframe.json that loading a run relies on; others pass through as they are."""

    model_config = ConfigDict(extra="allow")

    labels: list[StrictStr] = Field(min_length=2)
    multi_label: bool = False
    input: dict[str, Any] = {}
    max_length: int | None = None
    temperature: float | None = None
    inference: dict[str, Any] | None = None


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


def read_meta(run_dir: Path) -> dict[str, Any]:
    """stanceframe.json, checked for the fields that loading relies on."""
    meta_path = Path(run_dir) / META_FILE
    if not meta_path.is_file():
        raise RunDirError(f"{run_dir}: not a stanceframe run ({META_FILE} is missing)")
    meta = read_json(meta_path)
    if not isinstance(meta, dict):
        raise RunDirError(f"{meta_path}: damaged, expected a JSON object")
    try:
        _MetaFields.model_validate(meta)
    except ValidationError as error:
        problem = error.errors()[0]
        field = ".".join(str(part) for part in problem["loc"])
        raise RunDirError(f"{meta_path}: field {field!r}: {problem['msg']}") from None
    return meta


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
