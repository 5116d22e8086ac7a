"""Ray for the engines that run on it (`profile --engine ray`, `predict --engine ray`): start or
join a Ray, and find the user's error (a record's problem) inside what Ray raises for a task.

`RAY_ADDRESS` or an explicit address joins an existing cluster; without one a local Ray starts
here, with this machine's CPUs, and is shut down afterwards. Ray already started in this process
(a notebook, a test) is used as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stanceframe.errors import StanceframeError


def import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise StanceframeError(
            "--engine ray needs Ray Data: pip install 'stanceframe[ray]'"
        ) from None
    return ray


@contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if address is None:
        options["num_cpus"] = num_cpus or os.cpu_count() or 1
    ray.init(address=address, **options)
    try:
        yield ray
    finally:
        ray.shutdown()


def user_error(error: BaseException) -> StanceframeError | None:
    """The stanceframe error inside a Ray task failure (Ray wraps it, sometimes twice)."""
    stack: list[BaseException | None] = [error]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        cause = getattr(current, "cause", None)  # RayTaskError keeps the original here
        if isinstance(current, StanceframeError):
            # Ray may raise a class made of RayTaskError and the user's: its message is a
            # traceback, its `cause` the original
            return cause if isinstance(cause, StanceframeError) else current
        stack += [cause, current.__cause__, current.__context__]
    return None


def workers_for(ray, workers: int | None) -> int:
    """Actors to start: as asked, else one per CPU of the cluster."""
    return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


@contextmanager
def user_errors_raised() -> Iterator[None]:
    """Re-raise a record's error from a Ray worker as itself, so the CLI prints it plainly."""
    try:
        yield
    except StanceframeError:
        raise
    except Exception as error:
        found = user_error(error)
        if found is None:
            raise
        raise found from None
