"""Adaptive micro-batching: concurrent requests of one version scored in one ``predict`` call.

One scoring task per version takes every request queued since its last call,
stacks their rows, predicts once in a worker thread and hands each request its
slice. An idle server scores a lone request at once; under load a request waits
at most for the ``predict`` call in progress (one call of a few rows costs about
what a call of one row costs, so throughput rises with concurrency). Rows per
call are capped at :data:`MAX_ROWS`. If a stacked call fails, each request of it
is scored alone, so one request's bad rows fail only that request.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

__all__ = ["MAX_ROWS", "Batcher"]

#: most rows stacked into one predict call
MAX_ROWS = 2048


class Batcher:
    """Queues ``(rows, future)`` and scores them in stacked calls of ``predict``."""

    def __init__(self, predict: Any) -> None:
        self._predict = predict
        self._queue: list[tuple[np.ndarray, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None

    async def score(self, rows: np.ndarray) -> Any:
        """The predictions for ``rows`` (raises what ``predict`` raised for them)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((rows, future))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch: list[tuple[np.ndarray, asyncio.Future[Any]]] = []
            size = 0
            while self._queue and (not batch or size + len(self._queue[0][0]) <= MAX_ROWS):
                rows, future = self._queue.pop(0)
                batch.append((rows, future))
                size += len(rows)
            await self._run(batch)

    async def _run(self, batch: list[tuple[np.ndarray, asyncio.Future[Any]]]) -> None:
        if len(batch) == 1:
            rows, future = batch[0]
            await _settle(future, self._predict, rows)
            return
        stacked = np.concatenate([rows for rows, _ in batch])
        try:
            out = np.asarray(await asyncio.to_thread(self._predict, stacked))
        except Exception:
            for rows, future in batch:  # find the request that failed; the others still answer
                await _settle(future, self._predict, rows)
            return
        start = 0
        for rows, future in batch:
            if not future.done():
                future.set_result(out[start : start + len(rows)])
            start += len(rows)


async def _settle(future: asyncio.Future[Any], predict: Any, rows: np.ndarray) -> None:
    try:
        result = await asyncio.to_thread(predict, rows)
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
        return
    if not future.done():
        future.set_result(result)
