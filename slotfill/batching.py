"""Request batching: texts from requests that arrive together are tagged in one model call.

A model call costs about the same for one sentence as for dozens (the graph's fixed cost
dominates), so a server that tags each request alone spends most of its time on that
fixed cost. :class:`Batcher` queues the texts of concurrent requests, waits at most
``max_wait`` seconds after the first for others to join, and hands up to ``max_texts``
texts to one call on its own worker thread, which leaves the event loop free to read the
next requests meanwhile. Requests that arrive during a call form the next batch without
waiting; and while requests come one at a time (the last batch held one), none waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Result = TypeVar("Result")


class Overloaded(Exception):
    """More texts are waiting than the queue holds; the caller should retry later."""


class Batcher(Generic[Result]):
    """Collects the texts of concurrent :meth:`submit` calls into batched calls of ``run``.

    ``run`` maps a list of texts to one result per text, in order; it runs on one worker
    thread, one batch at a time. A request is never split: one with more texts than
    ``max_texts`` is a batch of its own. ``max_texts=1`` turns batching off (each request
    is its own call).

    Example:
        >>> async def main():
        ...     batcher = Batcher(lambda texts: [t.upper() for t in texts])
        ...     batcher.start()
        ...     results = await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b", "c"]))
        ...     await batcher.stop()
        ...     return results
        >>> asyncio.run(main())
        [['A'], ['B', 'C']]
    """

    def __init__(self, run: Callable[[list[str]], Sequence[Result]], max_texts: int = 64,
                 max_wait: float = 0.005, max_queued: int = 4096) -> None:
        if max_texts < 1:
            raise ValueError(f"max_texts must be at least 1, got {max_texts}")
        if max_wait < 0:
            raise ValueError(f"max_wait must be 0 or more seconds, got {max_wait}")
        self.run = run
        self.max_texts = max_texts
        self.max_wait = max_wait
        self.max_queued = max_queued
        self.calls = 0  # model calls made, for tests and the benchmark
        self._queued = 0
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future]] | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slotfill-tag")

    def start(self) -> None:
        """Start the batching task on the running event loop."""
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Finish every queued request, then stop the worker."""
        if self._queue is not None and self._worker is not None:
            await self._queue.join()
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, texts: list[str]) -> list[Result]:
        """The results for ``texts``, tagged with whatever other texts are waiting."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() was not called")
        if self._queued + len(texts) > self.max_queued and self._queued:
            raise Overloaded(f"{self._queued} texts are already waiting to be tagged")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queued += len(texts)
        self._queue.put_nowait((texts, future))
        return await future

    async def _work(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        carry = None  # a request that did not fit the last batch: the next one starts with it
        concurrent = True
        while True:
            first = carry if carry is not None else await self._queue.get()
            carry = None
            batch, size = [first], len(first[0])
            # A lone client would only lose time waiting: wait for others only while
            # requests have been arriving together (the last batch held several).
            wait = self.max_wait if concurrent else 0.0
            deadline = time.monotonic() + wait
            while size < self.max_texts:
                item = await self._next(deadline)
                if item is None:
                    break
                if size + len(item[0]) > self.max_texts:
                    carry = item
                    break
                batch.append(item)
                size += len(item[0])
            concurrent = len(batch) > 1 or carry is not None
            await self._run(loop, batch)

    async def _next(self, deadline: float) -> tuple[list[str], asyncio.Future] | None:
        """The next queued request, waiting for one until ``deadline``; None after it."""
        assert self._queue is not None
        if not self._queue.empty():
            return self._queue.get_nowait()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), remaining)
        except asyncio.TimeoutError:
            return None

    async def _run(self, loop: asyncio.AbstractEventLoop,
                   batch: list[tuple[list[str], asyncio.Future]]) -> None:
        texts = [text for item, _ in batch for text in item]
        try:
            self.calls += 1
            results = await loop.run_in_executor(self._executor, self.run, texts)
        except Exception as err:  # handed to every request of the batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(err)
        else:
            start = 0
            for item, future in batch:
                if not future.done():  # its client may have gone
                    future.set_result(list(results[start:start + len(item)]))
                start += len(item)
        finally:
            for item, _ in batch:
                self._queued -= len(item)
                self._queue.task_done()  # type: ignore[union-attr]
