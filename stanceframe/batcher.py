"""Micro-batching for the HTTP service: texts from concurrent requests share one model call.

One worker thread owns the model, so calls never compete for the CPU cores or the GPU; while it runs
a batch, new requests queue up and go together into the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from stanceframe.model.classifier import Prediction

# predict(texts, targets, contexts): contexts are previous sentences for runs that read them
PredictFunction = Callable[[list[str], list[str] | None, list[str | None]], list[Prediction]]


class BatcherOverloaded(Exception):
    """More texts are waiting than the service accepts; the client should retry later."""


@dataclass
class _Job:
    texts: Sequence[str]
    targets: Sequence[str] | None
    result: asyncio.Future[list[Prediction]]
    contexts: Sequence[str | None] | None = None


def _joined_targets(jobs: Sequence[_Job]) -> list[str] | None:
    with_targets = [job.targets is not None for job in jobs]
    if not any(with_targets):
        return None
    if not all(with_targets):
        raise ValueError("a batch mixed texts with and without targets")
    return [target for job in jobs for target in job.targets or ()]


class MicroBatcher:
    def __init__(
        self,
        predict: PredictFunction,
        *,
        max_batch_texts: int = 128,
        max_wait_s: float = 0.0,
        max_queued_texts: int = 20_000,
    ):
        self.predict = predict
        self.max_batch_texts = max_batch_texts
        self.max_wait_s = max_wait_s
        self.max_queued_texts = max_queued_texts
        self.queued_texts = 0
        self.batches_run = 0
        self.texts_run = 0
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stanceframe-model")
        self._worker = asyncio.create_task(self._run(), name="stanceframe-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._worker = self._executor = self._queue = None

    async def submit(
        self,
        texts: Sequence[str],
        targets: Sequence[str] | None,
        contexts: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """Predictions for `texts`, in order, once a batch that holds them has run."""
        if self._queue is None:
            raise RuntimeError("the batcher is not running; call start() first")
        if not texts:
            return []
        if self.queued_texts + len(texts) > self.max_queued_texts:
            raise BatcherOverloaded(
                f"{self.queued_texts} texts are waiting for the model; retry in a moment"
            )
        job = _Job(texts, targets, asyncio.get_running_loop().create_future(), contexts)
        self.queued_texts += len(texts)
        self._queue.put_nowait(job)
        return await job.result

    async def _collect(self, first: _Job) -> list[_Job]:
        """`first` and whatever else is waiting, up to max_batch_texts (waiting max_wait_s at most)."""
        assert self._queue is not None
        jobs, size = [first], len(first.texts)
        deadline = asyncio.get_running_loop().time() + self.max_wait_s
        while size < self.max_batch_texts:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            jobs.append(job)
            size += len(job.texts)
        return jobs

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            jobs = await self._collect(await self._queue.get())
            texts = [text for job in jobs for text in job.texts]
            try:
                targets = _joined_targets(jobs)
                contexts = [
                    context for job in jobs for context in (job.contexts or [None] * len(job.texts))
                ]
                predictions = await loop.run_in_executor(
                    self._executor, self.predict, texts, targets, contexts
                )
            except Exception as error:  # the requests that asked get the error; the worker lives on
                for job in jobs:
                    if not job.result.done():
                        job.result.set_exception(error)
            else:
                position = 0
                for job in jobs:
                    if not job.result.done():  # a client that went away leaves a cancelled future
                        job.result.set_result(predictions[position : position + len(job.texts)])
                    position += len(job.texts)
            finally:
                self.queued_texts -= len(texts)
                self.batches_run += 1
                self.texts_run += len(texts)
