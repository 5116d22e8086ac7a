"""The run directory: a Hugging Face model folder plus everything needed to trust and reuse it.

Training writes into `<run_dir>.partial` and renames it into place only when the run is complete,
so an existing run is never touched by a failed or interrupted one.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path
from typing import Any

from stanceframe.atomic import replace_folder
from stanceframe.errors import RunDirError
from stanceframe.run_files import META_FILE, read_meta  # noqa: F401 - callers import them here

FORMAT_VERSION = 1


def staging_dir(run_dir: Path) -> Path:
    return run_dir.with_name(run_dir.name + ".partial")


def checkpoints_dir(run_dir: Path) -> Path:
    return staging_dir(run_dir) / "checkpoints"


def has_checkpoint(run_dir: Path) -> bool:
    folder = checkpoints_dir(run_dir)
    return folder.is_dir() and any(folder.glob("checkpoint-*"))


def _nothing_to_resume(run_dir: Path) -> bool:
    """Whether RUN.partial holds only what a start that failed before its first complete
    checkpoint leaves (an empty folder, say), which a new start may replace."""
    own = {"metrics.jsonl", "checkpoints"}
    files = staging_dir(run_dir).iterdir()
    return not has_checkpoint(run_dir) and all(path.name in own for path in files)


def check_start(run_dir: Path, *, overwrite: bool, resume: bool) -> None:
    """Raise if training may not write this run; changes nothing, so it can run first of all."""
    staging = staging_dir(run_dir)
    if resume:
        if not has_checkpoint(run_dir):
            raise RunDirError(
                f"{run_dir}: --resume found no checkpoint in {checkpoints_dir(run_dir)}"
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
        return staging
    if main_process:
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
    return staging


def finalize(staging: Path, run_dir: Path) -> None:
    """Drop checkpoints and move the staging folder into place, replacing an old run last."""
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
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


def write_json(path: Path, content: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)
