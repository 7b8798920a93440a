"""Batch scoring's stages overlapped: the next batch read and the last one written on threads.

Decoding Parquet, writing it, Arrow compute, hashing, BLAS and SQLite release the
GIL, so a reader thread decoding batch ``n + 1`` and a writer thread writing batch
``n - 1`` run beside the scoring of batch ``n``. Each stage is one thread working
in order, at most ``depth`` items ahead of (or behind) the caller, so memory holds
a few batches whatever the input size. A stage's first error is raised in the
caller, and nothing runs after it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["InOrder", "prefetch"]

T = TypeVar("T")
_END = object()


def prefetch(items: Iterator[T], depth: int = 2, name: str = "mlops-read") -> Iterator[T]:
    """``items``, produced on a thread at most ``depth`` items ahead of the consumer.

    The first error of ``items`` is raised where its item would have been. Closing
    the returned generator (or leaving a ``for`` loop over it by an error) stops the
    thread and closes ``items``.

    Examples
    --------
    >>> list(prefetch(iter(range(5))))
    [0, 1, 2, 3, 4]
    """

    def step() -> Any:
        return next(items, _END)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
    ahead: deque[Future[Any]] = deque(pool.submit(step) for _ in range(max(1, depth)))
    try:
        while True:
            item = ahead.popleft().result()
            if item is _END:
                return
            ahead.append(pool.submit(step))
            yield item
    finally:
        for future in ahead:
            future.cancel()
        pool.shutdown(wait=True)  # the step under way ends before ``items`` is closed
        close = getattr(items, "close", None)
        if close is not None:
            close()


class InOrder:
    """Calls of ``function`` made on one thread in the order submitted.

    :meth:`submit` returns once at most ``depth`` calls wait; it raises the error
    of an earlier call, after which no later call runs. :meth:`finish` waits for
    every call; :meth:`cancel` drops those not started.

    Examples
    --------
    >>> seen = []
    >>> writes = InOrder(seen.append)
    >>> for n in range(3):
    ...     writes.submit(n)
    >>> writes.finish()
    >>> seen
    [0, 1, 2]
    """

    def __init__(
        self, function: Callable[..., Any], depth: int = 2, name: str = "mlops-write"
    ) -> None:
        self.function, self.depth = function, max(1, depth)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: deque[Future[Any]] = deque()
        self._failed = threading.Event()

    def _call(self, *args: Any) -> Any:
        if self._failed.is_set():
            return None
        try:
            return self.function(*args)
        except BaseException:
            self._failed.set()
            raise

    def submit(self, *args: Any) -> None:
        """Queue ``function(*args)``; raise the error of an earlier call if one failed."""
        self._pending.append(self._pool.submit(self._call, *args))
        while self._pending and (len(self._pending) > self.depth or self._pending[0].done()):
            self._pending.popleft().result()

    def finish(self) -> None:
        """Wait for every queued call; raise the first error."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True)

    def cancel(self) -> None:
        """Drop the calls not started and wait for the one under way (its error is dropped)."""
        self._failed.set()
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
