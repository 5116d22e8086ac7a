"""Atomic replacement of output folders, shared by training, evaluation and analysis."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path


def replace_folder(staging: Path, target: Path) -> None:
    """Move a complete `staging` folder to `target`; an old `target` is moved aside first, deleted last."""
    previous = None
    if target.exists():
        previous = target.with_name(
            f".{target.name}.replaced-{os.getpid()}-{int(time.time() * 1000)}"
        )
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous)
