"""Split one big OSRM table over worker processes, each with its own engine.

Why processes: the osrm-bindings hold the GIL for the whole ``Table`` call (measured: a
Python thread spinning beside a 1000x1000 table advances ~40x slower), so threads cannot
overlap two tables, and the result conversion to numpy is Python-bound too. A worker
process opens the same memory-mapped OSRM files (the page cache is shared, so this costs
little RAM), computes a block of source rows, converts it and writes it straight into a
shared-memory array -- nothing big is pickled.

The calling process computes the first block itself while the workers do the rest, so
``workers=1`` means two blocks in parallel. Workers start on first use (``spawn``: a
fresh interpreter, never a fork of a process that holds an OSRM engine) and live as long
as the pool; :meth:`TableWorkers.close` ends them.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import shared_memory
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["TableWorkers", "table_block"]

_engine: Any = None  # one per worker process


def _init_worker(osrm_path: str, algorithm: str) -> None:
    global _engine
    import osrm

    from geodata.heap import retain_freed_memory

    retain_freed_memory()

    _engine = osrm.OSRM(
        algorithm=algorithm.upper(),
        storage_config=osrm_path,
        use_shared_memory=False,
        use_mmap=True,
    )


def table_block(
    engine: Any,
    coordinates: list[tuple[float, float]],
    sources: list[int],
    destinations: list[int],
    radius_m: float,
    durations_out: NDArray[np.float64],
    distances_out: NDArray[np.float64],
) -> None:
    """One OSRM Table call for ``sources`` x ``destinations``, written into the outputs."""
    import osrm

    from geodata.osrm_travel import _table_to_array

    params = osrm.TableParameters(
        coordinates=coordinates,
        sources=sources,
        destinations=destinations,
        annotations=["duration", "distance"],
        radiuses=[radius_m] * len(coordinates),
    )
    result = engine.Table(params)
    rows, cols = len(sources), len(destinations)
    durations_out[:] = _table_to_array(result["durations"], rows, cols)
    distances_out[:] = _table_to_array(result["distances"], rows, cols)


def _worker_block(
    shm_name: str,
    shape: tuple[int, int],
    row_start: int,
    coordinates: list[tuple[float, float]],
    sources: list[int],
    destinations: list[int],
    radius_m: float,
) -> None:
    shm = shared_memory.SharedMemory(name=shm_name)
    try:
        both = np.ndarray((2, *shape), dtype=np.float64, buffer=shm.buf)
        row_end = row_start + len(sources)
        table_block(
            _engine,
            coordinates,
            sources,
            destinations,
            radius_m,
            both[0, row_start:row_end],
            both[1, row_start:row_end],
        )
        del both
    finally:
        shm.close()


class TableWorkers:
    """A small pool of OSRM worker processes for one dataset."""

    def __init__(self, osrm_path: str, algorithm: str, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(osrm_path, algorithm),
        )

    def table(
        self,
        engine: Any,
        coordinates: list[tuple[float, float]],
        sources: list[int],
        destinations: list[int],
        radius_m: float,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Durations and distances for ``sources`` x ``destinations`` in blocks of rows.

        Raises what OSRM raises (``RuntimeError`` with its code) from any block.
        """
        rows, cols = len(sources), len(destinations)
        blocks = np.array_split(np.arange(rows), self.workers + 1)
        shm = shared_memory.SharedMemory(create=True, size=max(1, 2 * rows * cols * 8))
        try:
            both = np.ndarray((2, rows, cols), dtype=np.float64, buffer=shm.buf)
            futures: list[Future[None]] = [
                self._pool.submit(
                    _worker_block,
                    shm.name,
                    (rows, cols),
                    int(block[0]),
                    coordinates,
                    [sources[i] for i in block],
                    destinations,
                    radius_m,
                )
                for block in blocks[1:]
                if len(block)
            ]
            first = blocks[0]
            table_block(
                engine,
                coordinates,
                [sources[i] for i in first],
                destinations,
                radius_m,
                both[0, : len(first)],
                both[1, : len(first)],
            )
            for future in futures:
                future.result()
            durations, distances = both[0].copy(), both[1].copy()
            del both
        finally:
            shm.close()
            shm.unlink()
        return durations, distances

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
