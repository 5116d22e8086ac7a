"""stanceframe.json's schema (RunMeta): what training writes, what loading accepts, how it changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

from stanceframe.errors import RunDirError
from stanceframe.run_files import META_FILE, RunMeta, read_meta, update_meta, write_meta

LABELS = ["accusation", "denial", "diplomatic_proposal", "other"]
# stanceframe.json as the first release wrote it: no input.context, no training_prior, no
# inference.priors, and training.best_checkpoint where runs now keep best_step
FIRST_FORMAT = {
    "format_version": 1,
    "task": "framing",
    "labels": LABELS,
    "multi_label": False,
    "input": {"text_column": "text", "target_column": None},
    "max_length": 128,
    "base_model": "bundled:minilm",
    "inference": {"threshold": 0.5, "thresholds": None, "abstain_threshold": None},
    "temperature": None,
    "data": {"train": {"source": "train.jsonl", "path": "train.jsonl", "sha256": "ab", "rows": 3}},
    "training": {
        "global_step": 12,
        "train_rows": 3,
        "best_checkpoint": "runs/framing.partial/checkpoints/checkpoint-8",
        "device": "cpu",
        "precision": "fp32",
        "warnings": [],
    },
    "versions": {"stanceframe": "0.1.0"},
    "created_at": "2026-11-01T10:00:00+00:00",
}


def meta_run(tmp_path: Path, content) -> Path:
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / META_FILE).write_text(json.dumps(content), encoding="utf-8")
    return run


def with_change(path: str, value) -> dict:
    """FIRST_FORMAT with one (dotted) field set to `value`."""
    content = json.loads(json.dumps(FIRST_FORMAT))
    *parents, name = path.split(".")
    section = content
    for part in parents:
        section = section[part]
    section[name] = value
    return content


@pytest.mark.parametrize(
    "field",
    [
        ("input.target_column", 3),
        ("inference.threshold", "high"),
        ("training_prior", {"accusation": "most"}),
        ("data.train.rows", "many"),
        ("training.global_step", "twelve"),
        ("labels", ["denial", "denial", "other"]),
        ("temperature", -1.0),
    ],
    ids=lambda field: field[0],
)
def test_a_wrong_field_is_an_error_naming_the_file_and_field(tmp_path, field):
    path, value = field
    run = meta_run(tmp_path, with_change(path, value))
    with pytest.raises(RunDirError) as raised:
        read_meta(run)
    message = str(raised.value)
    assert message.startswith(f"{run / META_FILE}: field '{path}")


def test_a_run_written_by_the_first_release_loads_with_defaults(tmp_path):
    meta = read_meta(meta_run(tmp_path, FIRST_FORMAT))
    assert meta.labels == LABELS and meta.task == "framing"
    assert meta.input.context == "none" and meta.input.article_column == "article"
    assert meta.training_prior is None and meta.inference.priors is None
    assert meta.calibration is None and meta.training.best_step is None
    assert meta.data["train"].sha256 == "ab" and meta.data["train"].dataset_fingerprint is None
    # a field this version does not know is kept, not dropped
    assert meta.training.model_extra == {
        "best_checkpoint": FIRST_FORMAT["training"]["best_checkpoint"]
    }


def test_only_labels_are_required(tmp_path):
    meta = read_meta(meta_run(tmp_path, {"labels": ["favor", "against"], "training": None}))
    assert meta.multi_label is False and meta.data == {} and meta.training.warnings == []
    with pytest.raises(RunDirError, match=r"stanceframe.json: field 'labels': Field required"):
        read_meta(meta_run(tmp_path, {"task": "framing"}))


def test_what_is_written_is_what_is_read(tmp_path):
    newer = {**FIRST_FORMAT, "format_version": 2, "tokenizer_revision": "abc"}
    meta = RunMeta.model_validate(newer)
    run = tmp_path / "run"
    run.mkdir()
    write_meta(run, meta)
    written = json.loads((run / META_FILE).read_text(encoding="utf-8"))
    assert written == meta.model_dump(mode="json")
    assert written["tokenizer_revision"] == "abc" and written["format_version"] == 2
    assert read_meta(run) == meta
    assert read_meta(run).model_dump(mode="json") == written


def test_update_meta_validates_before_it_writes(tmp_path):
    run = meta_run(tmp_path, FIRST_FORMAT)
    updated = update_meta(run, temperature=1.7)
    assert updated.temperature == 1.7 and read_meta(run).temperature == 1.7
    assert read_meta(run).training.model_extra["best_checkpoint"]  # unknown fields survive
    before = (run / META_FILE).read_bytes()
    with pytest.raises(RunDirError, match=r"stanceframe.json: field 'temperature'"):
        update_meta(run, temperature="warm")
    assert (run / META_FILE).read_bytes() == before
    assert sorted(path.name for path in run.iterdir()) == [META_FILE]  # nothing staged left


def test_training_writes_every_field_through_the_schema(framing_run):
    written = json.loads((framing_run / META_FILE).read_text(encoding="utf-8"))
    meta = RunMeta.model_validate(written)
    assert meta.model_dump(mode="json") == written

    def unknown_fields(record, where=""):
        found = [f"{where}{name}" for name in record.model_extra or {}]
        for name in type(record).model_fields:
            value = getattr(record, name)
            values = value.values() if isinstance(value, dict) else [value]
            for item in values:
                if isinstance(item, BaseModel):
                    found += unknown_fields(item, f"{where}{name}.")
        return found

    assert unknown_fields(meta) == []
    assert meta.training.best_step in (4, 8, 12) and meta.input.context == "none"
