"""The run directory: a Hugging Face model folder plus everything needed to trust and reuse it.

Training writes into `<run_dir>.partial` and renames it into place only when the run is complete,
so an existing run is never touched by a failed or interrupted one. The schema of the run's
stanceframe.json, and every read and write of it, is `RunMeta` in stanceframe/run_files.py.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from stanceframe.atomic import file_mode, replace_folder, write_json
from stanceframe.errors import ConfigError, RunDirError, problem_field
from stanceframe.run_files import check_weights, read_json

logger = logging.getLogger(__name__)
START_FILE = "start.json"  # in RUN.partial: the settings and data the run started with
# dev-split gold labels and logits, from which `stanceframe profile` corrects counted label shares
QUANTIFICATION_FILE = "quantification.json"
# Settings that do not change what is learnt; a resume may differ in them.
RESUMABLE_CHANGES = {"training.threads"}


def staging_dir(run_dir: Path) -> Path:
    return run_dir.with_name(run_dir.name + ".partial")


def checkpoints_dir(run_dir: Path) -> Path:
    return staging_dir(run_dir) / "checkpoints"


def _step(checkpoint: Path) -> int:
    return int(checkpoint.name.rpartition("-")[2]) if checkpoint.name[-1:].isdigit() else -1


def _complete(checkpoint: Path) -> bool:
    """The Trainer writes trainer_state.json last, so a readable one (and whole weights) means the
    checkpoint was finished; a kill -9 while it was being written leaves one of them short."""
    try:
        json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        check_weights(checkpoint)
    except (OSError, ValueError, RunDirError):
        return False
    return True


def last_checkpoint(run_dir: Path) -> Path | None:
    """The newest complete checkpoint of an interrupted run, or None."""
    folder = checkpoints_dir(run_dir)
    found = sorted(folder.glob("checkpoint-*"), key=_step, reverse=True) if folder.is_dir() else []
    return next((checkpoint for checkpoint in found if _complete(checkpoint)), None)


def has_checkpoint(run_dir: Path) -> bool:
    return last_checkpoint(run_dir) is not None


def _nothing_to_resume(run_dir: Path) -> bool:
    """Whether RUN.partial holds only what a start that failed before its first complete
    checkpoint leaves (an empty folder, say), which a new start may replace."""
    own = {START_FILE, "metrics.jsonl", "checkpoints"}
    files = staging_dir(run_dir).iterdir()
    return not has_checkpoint(run_dir) and all(path.name in own for path in files)


def check_start(run_dir: Path, *, overwrite: bool, resume: bool) -> None:
    """Raise if training may not write this run; changes nothing, so it can run first of all."""
    staging = staging_dir(run_dir)
    if resume:
        if not has_checkpoint(run_dir):
            raise RunDirError(
                f"{run_dir}: --resume found no checkpoint in {checkpoints_dir(run_dir)} "
                "(a half-written one does not count)"
            )
        if run_dir.exists() and not overwrite:
            raise RunDirError(
                f"{run_dir}: a finished run is already there; resuming would replace it. "
                "Add --overwrite to replace it, or set run_dir to another folder"
            )
        return
    if run_dir.exists() and not overwrite:
        raise RunDirError(
            f"{run_dir}: the run directory exists; pass --overwrite to replace it, "
            "or set run_dir (--set run_dir=...) to another folder"
        )
    if staging.exists() and not overwrite and not _nothing_to_resume(run_dir):
        raise RunDirError(
            f"{staging}: an interrupted run is there; pass --resume to continue it, "
            "or --overwrite to start afresh"
        )


def prepare(run_dir: Path, *, overwrite: bool, resume: bool, main_process: bool = True) -> Path:
    """Check that training may write this run, and return the staging folder to train in.

    A staging folder with nothing to resume from (a start that failed) is replaced. Every process
    of a distributed run makes the checks; only the main process changes files.
    """
    check_start(run_dir, overwrite=overwrite, resume=resume)
    staging = staging_dir(run_dir)
    if resume:
        if main_process:
            _drop_incomplete_checkpoints(run_dir)
        return staging
    if main_process:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
    return staging


def _drop_incomplete_checkpoints(run_dir: Path) -> None:
    """Delete half-written checkpoints newer than the one resumed from; training writes them anew."""
    resumed = last_checkpoint(run_dir)
    for checkpoint in checkpoints_dir(run_dir).glob("checkpoint-*"):
        if _step(checkpoint) > _step(resumed) and not _complete(checkpoint):
            logger.warning(
                "%s is incomplete (interrupted while saving); resuming from %s", checkpoint, resumed
            )
            shutil.rmtree(checkpoint)


# ---------------------------------------------------------------- what a run started with


class StartRecord(BaseModel):
    """start.json: the settings (the config, less run_dir) and the data fingerprints a run started
    with, kept in RUN.partial so that --resume can refuse a changed config or data."""

    config: dict[str, Any]
    data: dict[str, dict[str, Any]]


def start_record(config, data) -> StartRecord:
    """The settings and data fingerprints a run starts with."""
    settings = config.model_dump(mode="json")
    settings.pop("run_dir", None)  # the same folder, however it was spelled
    return StartRecord(
        config=settings, data={split.name: split.fingerprint for split in data.splits}
    )


def write_start(staging: Path, record: StartRecord) -> None:
    write_json(staging / START_FILE, record.model_dump(mode="json"))


def read_start(path: Path) -> StartRecord:
    """start.json of a staging folder; a damaged one is a RunDirError naming it."""
    try:
        return StartRecord.model_validate(read_json(path))
    except ValidationError as error:
        problem = error.errors()[0]
        raise RunDirError(
            f"{path}: damaged, field {problem_field(problem)!r}: {problem['msg']}; pass "
            "--overwrite to start afresh"
        ) from None


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def _short(value: Any) -> Any:
    """Digests cut to 12 characters, as git shows them."""
    return value[:12] if isinstance(value, str) and len(value) == 64 else value


def _changes(started: StartRecord, now: StartRecord) -> list[str]:
    before, after = _flat(started.config), _flat(now.config)
    changes = [
        f"{key} {before.get(key)!r} -> {after.get(key)!r}"
        for key in sorted(set(before) | set(after))
        if key not in RESUMABLE_CHANGES and before.get(key) != after.get(key)
    ]
    old_data, new_data = started.data, now.data
    order = {"train": 0, "dev": 1, "test": 2}
    for split in sorted(set(old_data) | set(new_data), key=lambda name: order.get(name, 3)):
        old, new = old_data.get(split) or {}, new_data.get(split) or {}
        if old != new:
            what = ", ".join(
                f"{key} {_short(old.get(key))!r} -> {_short(new.get(key))!r}"
                for key in sorted(set(old) | set(new))
                if old.get(key) != new.get(key)
            )
            changes.append(f"{split} data changed ({what})")
    return changes


def check_resume(run_dir: Path, record: StartRecord, *, force: bool) -> list[str]:
    """Refuse to resume with other settings or data than the run started with, unless forced.

    Returns warnings for the run's record: what changed when forced, or that nothing could be
    checked (a staging folder from before start records were kept).
    """
    start_path = staging_dir(run_dir) / START_FILE
    if not start_path.is_file():
        return [f"resumed without a record of the settings the run started with ({start_path})"]
    changes = _changes(read_start(start_path), record)
    if not changes:
        return []
    if not force:
        raise ConfigError(
            f"{run_dir}: --resume would continue a run started with other settings or data: "
            f"{'; '.join(changes)}. Resume with the original config and data, pass "
            "--force-resume to continue anyway (the run will record what changed), or "
            "--overwrite to start afresh"
        )
    return [f"resumed with --force-resume after changes: {'; '.join(changes)}"]


def finalize(staging: Path, run_dir: Path) -> None:
    """Drop checkpoints and move the staging folder into place, replacing an old run last."""
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    (staging / START_FILE).unlink(missing_ok=True)
    # safetensors writes the weights private (0600); a finished run gets the usual permissions.
    mode = file_mode()
    for path in staging.iterdir():
        if path.is_file():
            path.chmod(mode)
    replace_folder(staging, run_dir)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in (
        "stanceframe",
        "torch",
        "transformers",
        "datasets",
        "scikit-learn",
        "tokenizers",
    ):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def quantification_record(
    split, label_names: list[str], gold, logits, written_by: str
) -> dict[str, Any]:
    """The dev statistics a quantification method needs, kept small: each dev row's gold label id
    and its logits before temperature and priors (so they stay valid after `calibrate`), from which
    the confusion matrix and the posteriors of any later decision rule follow."""
    from datetime import datetime, timezone

    return {
        "format_version": 1,
        "split": split.name,
        "source": split.source,
        "fingerprint": split.fingerprint,
        "labels": list(label_names),
        "gold": [int(label) for label in gold],
        "logits": [[round(float(value), 5) for value in row] for row in logits],
        "written_by": written_by,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
