"""The batcher: concurrent requests share model calls, in order, never split, bounded."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from slotfill.batching import Batcher, Overloaded


class Recorder:
    """A model stand-in that records the batches it is called with."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[str]] = []
        self.delay = delay
        self.threads: set[str] = set()

    def __call__(self, texts: list[str]) -> list[str]:
        self.batches.append(list(texts))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        return [text.upper() for text in texts]


def run(coroutine):
    return asyncio.run(coroutine)


async def _submit_all(batcher: Batcher, requests: list[list[str]]) -> list[list[str]]:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(r) for r in requests))
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_call_and_keep_their_order():
    model = Recorder()
    requests = [[f"t{i}"] for i in range(10)] + [["a", "b", "c"]]
    results = run(_submit_all(Batcher(model, max_texts=64, max_wait=0.05), requests))
    assert results == [[t.upper() for t in r] for r in requests]
    assert len(model.batches) == 1 and len(model.batches[0]) == 13
    assert model.threads == {"slotfill-tag_0"}  # off the event loop's thread


def test_batches_are_capped_and_requests_never_split():
    model = Recorder()
    requests = [["a", "b", "c"]] * 5  # 15 texts, at most 7 a call: 3 + 3, 3 + 3, 3
    results = run(_submit_all(Batcher(model, max_texts=7, max_wait=0.05), requests))
    assert results == [["A", "B", "C"]] * 5
    assert [len(b) for b in model.batches] == [6, 6, 3]


def test_a_request_larger_than_the_cap_is_one_call_of_its_own():
    model = Recorder()
    results = run(_submit_all(Batcher(model, max_texts=2, max_wait=0.01),
                              [["a", "b", "c", "d"], ["e"]]))
    assert results == [["A", "B", "C", "D"], ["E"]]
    assert model.batches == [["a", "b", "c", "d"], ["e"]]


def test_batch_size_one_turns_batching_off():
    model = Recorder()
    run(_submit_all(Batcher(model, max_texts=1, max_wait=0.05), [["a"], ["b"], ["c"]]))
    assert model.batches == [["a"], ["b"], ["c"]]


def test_only_requests_that_come_together_wait_for_each_other():
    model = Recorder()

    async def timed(batcher: Batcher, *requests: list[str]) -> float:
        start = time.monotonic()
        await asyncio.gather(*(batcher.submit(r) for r in requests))
        return time.monotonic() - start

    async def scenario() -> list[float]:
        batcher = Batcher(model, max_wait=0.2)
        batcher.start()
        times = [await timed(batcher, ["a"]),         # waits: others may follow
                 await timed(batcher, ["b"]),         # came alone last time: no wait
                 await timed(batcher, ["c"], ["d"]),  # no wait, but two came together...
                 await timed(batcher, ["e"])]         # ...so the next one waits again
        await batcher.stop()
        return times

    first, alone, together, after = run(scenario())
    assert 0.15 <= first < 2.0 and alone < 0.1 and together < 0.1 and 0.15 <= after < 2.0
    assert model.batches == [["a"], ["b"], ["c", "d"], ["e"]]


def test_requests_arriving_during_a_call_form_the_next_batch():
    model = Recorder(delay=0.2)

    async def staggered() -> None:
        batcher = Batcher(model, max_texts=64, max_wait=0.0)
        batcher.start()
        first = asyncio.ensure_future(batcher.submit(["first"]))
        await asyncio.sleep(0.05)  # the first call is running now
        rest = [asyncio.ensure_future(batcher.submit([f"r{i}"])) for i in range(5)]
        await asyncio.gather(first, *rest)
        await batcher.stop()

    run(staggered())
    assert model.batches == [["first"], [f"r{i}" for i in range(5)]]


def test_a_full_queue_refuses_with_overloaded():
    model = Recorder(delay=0.2)

    async def flood() -> list:
        batcher = Batcher(model, max_texts=1, max_wait=0.0, max_queued=3)
        batcher.start()
        tasks = [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(5)]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.stop()
        return results

    results = run(flood())
    assert results[:3] == [["T0"], ["T1"], ["T2"]]
    assert all(isinstance(r, Overloaded) for r in results[3:])


def test_a_failing_call_fails_its_requests_and_the_batcher_goes_on():
    calls = []

    def flaky(texts: list[str]) -> list[str]:
        calls.append(texts)
        if "bad" in texts:
            raise RuntimeError("model broke")
        return texts

    async def scenario() -> tuple:
        batcher = Batcher(flaky, max_texts=1, max_wait=0.0)
        batcher.start()
        bad = await asyncio.gather(batcher.submit(["bad"]), return_exceptions=True)
        good = await batcher.submit(["good"])
        await batcher.stop()
        return bad[0], good

    bad, good = run(scenario())
    assert isinstance(bad, RuntimeError) and good == ["good"]


def test_stop_finishes_the_queued_requests():
    model = Recorder(delay=0.05)

    async def scenario() -> list:
        batcher = Batcher(model, max_texts=1, max_wait=0.0)
        batcher.start()
        tasks = [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(4)]
        await asyncio.sleep(0)  # queued, none finished
        await batcher.stop()
        return [t.result() for t in tasks]

    assert run(scenario()) == [["T0"], ["T1"], ["T2"], ["T3"]]


@pytest.mark.parametrize("kwargs", [{"max_texts": 0}, {"max_wait": -1.0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Batcher(str.upper, **kwargs)
