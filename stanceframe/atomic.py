"""Staged writes for every output stanceframe makes: build beside the target, swap in when complete.

It also owns the guard that lets `--overwrite` replace only a folder stanceframe wrote, and the
SIGTERM handling that removes a half-written file or folder instead of leaving it behind.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from stanceframe.errors import OutputExistsError

# Written into report and comparison folders; `--overwrite` replaces only a folder holding it.
OUTPUT_MARKER = ".stanceframe-output"
SIGTERM_EXIT_CODE = 143  # 128 + SIGTERM, what a shell reports for a process killed by it

_removed_on_sigterm: list[Path] = []
_handler_before: list = []


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def file_mode() -> int:
    """The mode a plain `open(..., "w")` gives a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def check_replaceable(
    target: Path,
    overwrite: bool,
    *,
    marker: str = OUTPUT_MARKER,
    writer: str = "stanceframe",
    protect: Sequence[Path] = (),
) -> None:
    """Raise unless writing the folder `target` would lose nothing of the user's.

    An absent or empty folder may be written; a non-empty one only with `overwrite`, and only when
    it holds `marker` (the sign that `writer` made it) and is none of the `protect`ed folders (the
    run being evaluated, say) nor a folder that holds one of them.
    """
    target = Path(target)
    if target.is_file():
        raise OutputExistsError(f"{target}: is a file; --out takes a folder")
    resolved = target.resolve()
    for kept in protect:
        kept = Path(kept).resolve()
        if resolved == kept or resolved in kept.parents:
            raise OutputExistsError(
                f"{target}: would replace {kept}, which this command reads; choose another --out"
            )
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not overwrite:
        raise OutputExistsError(
            f"{target}: already exists; pass --overwrite to replace it, or choose another --out"
        )
    if not (target / marker).is_file():
        raise OutputExistsError(
            f"{target}: holds files that {writer} did not write (no {marker}); "
            "refusing to replace it, choose another --out"
        )


def write_marker(folder: Path, kind: str) -> None:
    """Mark `folder` as stanceframe's own output, which a later `--overwrite` may replace."""
    content = {"written_by": "stanceframe", "kind": kind}
    (folder / OUTPUT_MARKER).write_text(json.dumps(content) + "\n", encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _on_sigterm(signum, frame) -> None:
    for path in reversed(_removed_on_sigterm):
        _remove(path)
    # SystemExit unwinds like any exception, so open files are closed and `finally` blocks run.
    raise SystemExit(SIGTERM_EXIT_CODE)


@contextmanager
def removed_on_sigterm(path: Path) -> Iterator[None]:
    """While inside, SIGTERM removes `path` (a temporary file or folder) and exits with 143.

    Only the main thread can own signal handlers; elsewhere (a server's worker) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _removed_on_sigterm:
        _handler_before.append(signal.signal(signal.SIGTERM, _on_sigterm))
    _removed_on_sigterm.append(Path(path))
    try:
        yield
    finally:
        _removed_on_sigterm.remove(Path(path))
        if not _removed_on_sigterm:
            before = _handler_before.pop()
            signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)


@contextmanager
def _sigterm_held() -> Iterator[None]:
    """SIGTERM waits until the block is done, then acts as it would have (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
        if received:
            signal.raise_signal(signal.SIGTERM)


def replace_folder(staging: Path, target: Path) -> None:
    """Move a complete `staging` folder to `target`; an old `target` is moved aside first, deleted last."""
    # A SIGTERM between the renames would leave the old folder hidden and none in its place.
    with _sigterm_held():
        previous = None
        if target.exists():
            previous = target.with_name(
                f".{target.name}.replaced-{os.getpid()}-{int(time.time() * 1000)}"
            )
            os.replace(target, previous)
        os.replace(staging, target)
        if previous is not None:
            shutil.rmtree(previous)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A new hidden folder beside `target` to write into; it replaces `target` when the block ends.

    On an error, Ctrl-C or SIGTERM the folder is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    )
    # mkdtemp makes the folder private (0700); an output folder gets the usual permissions.
    staging.chmod(0o777 & ~current_umask())
    try:
        with removed_on_sigterm(staging):
            yield staging
            replace_folder(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def check_new_file(target: Path, overwrite: bool, protect: Sequence[Path] = ()) -> None:
    """Raise unless `target` may be written: absent, or `overwrite` given and not an input."""
    target = Path(target)
    if target.is_dir():
        raise OutputExistsError(f"{target}: is a folder; give a file name")
    for kept in protect:
        if Path(kept).exists() and target.exists() and target.samefile(kept):
            raise OutputExistsError(
                f"{target}: is also an input of this command; choose another output file"
            )
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target}: exists; pass --overwrite to replace it")


@contextmanager
def staged_file(target: Path) -> Iterator[IO[str]]:
    """A new hidden text file beside `target` to write into; it replaces `target` when the block
    ends. On an error, Ctrl-C or SIGTERM it is removed and `target` is left as it was."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
        try:  # 0666 less the umask, as a plain open() would give
            descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    stream = os.fdopen(descriptor, "w", encoding="utf-8", newline="")
    try:
        with removed_on_sigterm(staging):
            with stream:
                yield stream
            os.replace(staging, target)
    except BaseException:
        stream.close()
        staging.unlink(missing_ok=True)
        raise


def write_json(target: Path, content: Any, default: Callable[[Any], Any] | None = None) -> None:
    """`content` as indented UTF-8 JSON, staged beside `target` and swapped in when complete;
    `default` converts what JSON has no type for (as in json.dumps)."""
    text = json.dumps(content, indent=2, ensure_ascii=False, default=default) + "\n"
    with staged_file(target) as stream:
        stream.write(text)
