import asyncio
import threading
import time

import pytest

from stanceframe.batcher import BatcherOverloaded, MicroBatcher
from stanceframe.model.classifier import Prediction


class FakeModel:
    """Labels each text with itself, slowly, and records every batch it was given."""

    def __init__(self, seconds: float = 0.05, fail_on: str | None = None):
        self.seconds = seconds
        self.fail_on = fail_on
        self.batches: list[list[str]] = []
        self.threads: set[str] = set()

    def __call__(self, texts, targets, contexts=None):
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        if self.fail_on in texts:
            raise RuntimeError(f"cannot label {self.fail_on}")
        suffixes = targets or [""] * len(texts)
        return [
            Prediction(text + suffix, 1.0, {}) for text, suffix in zip(texts, suffixes, strict=True)
        ]


async def run_with(batcher: MicroBatcher, jobs):
    await batcher.start()
    try:
        return await asyncio.gather(
            *(batcher.submit(texts, targets) for texts, targets in jobs), return_exceptions=True
        )
    finally:
        await batcher.stop()


def labels(predictions):
    return [prediction.label for prediction in predictions]


def test_concurrent_requests_share_batches_and_keep_their_order():
    model = FakeModel()
    jobs = [
        ([f"r{request}-t{text}" for text in range(request % 3 + 1)], None) for request in range(10)
    ]
    results = asyncio.run(run_with(MicroBatcher(model), jobs))
    for (texts, _), result in zip(jobs, results, strict=True):
        assert labels(result) == texts
    assert [len(batch) for batch in model.batches] == [sum(len(t) for t, _ in jobs)]
    assert len(model.threads) == 1  # one thread owns the model


def test_requests_that_arrive_during_a_batch_go_together_into_the_next():
    model = FakeModel()

    async def scenario():
        batcher = MicroBatcher(model)
        await batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["first"], None))
            await asyncio.sleep(0.01)  # the first batch is running now
            rest = await asyncio.gather(*(batcher.submit([f"t{i}"], None) for i in range(9)))
            return await first, rest
        finally:
            await batcher.stop()

    first, rest = asyncio.run(scenario())
    assert labels(first) == ["first"] and [labels(r) for r in rest] == [[f"t{i}"] for i in range(9)]
    assert [len(batch) for batch in model.batches] == [1, 9]


def test_batches_stop_at_the_size_limit():
    model = FakeModel()
    jobs = [([f"t{index}"], None) for index in range(10)]
    results = asyncio.run(run_with(MicroBatcher(model, max_batch_texts=3), jobs))
    assert [labels(result) for result in results] == [texts for texts, _ in jobs]
    assert [len(batch) for batch in model.batches] == [3, 3, 3, 1]


def test_targets_travel_with_their_texts():
    model = FakeModel(seconds=0.0)
    jobs = [(["a", "b"], ["+x", "+y"]), (["c"], ["+z"])]
    results = asyncio.run(run_with(MicroBatcher(model), jobs))
    assert [labels(result) for result in results] == [["a+x", "b+y"], ["c+z"]]


def test_a_failing_batch_fails_its_requests_and_the_worker_goes_on():
    model = FakeModel(fail_on="bad")

    async def scenario():
        batcher = MicroBatcher(model)
        await batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["slow"], None))
            await asyncio.sleep(0.01)  # "slow" is running; the next two queue and batch together
            failed = await asyncio.gather(
                batcher.submit(["bad"], None), batcher.submit(["ok"], None), return_exceptions=True
            )
            later = await batcher.submit(["after"], None)
            return await first, failed, later
        finally:
            await batcher.stop()

    first, failed, later = asyncio.run(scenario())
    assert labels(first) == ["slow"]
    assert all(isinstance(result, RuntimeError) for result in failed)
    assert labels(later) == ["after"]


def test_too_much_waiting_work_is_refused():
    results = asyncio.run(
        run_with(MicroBatcher(FakeModel(), max_queued_texts=3), [(["a", "b"], None)] * 2)
    )
    assert labels(results[0]) == ["a", "b"]
    assert isinstance(results[1], BatcherOverloaded)


def test_submit_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="start"):
        asyncio.run(MicroBatcher(FakeModel()).submit(["a"], None))
