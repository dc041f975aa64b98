"""Working out each bounce's type, classification and fault: here, or in a worker process.

Classification is pure Python. In one process it competes for the GIL with parsing pages and
writing rows: in a big refresh on SQLite it held the GIL for more than a quarter of the time
the process held it at all (bench/README.md). A `Deriver` with a worker process
runs it on another core while the pages download and the rows are written. The process starts
only once a refresh has more than `inline_max` texts to classify, so that small refreshes do not
wait for it; and if it fails, whatever it did not deliver is worked out here.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor

from ..classification import bounce_type, classify

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (status, reason)
Derived = tuple[str, str, str]  # (type, classification, fault)

# Texts classified in this process before the worker process starts.
INLINE_MAX = 20_000


def derive(status: str, reason: str) -> Derived:
    return (bounce_type(status, reason), *classify(status, reason))


def derive_many(keys: list[Key]) -> list[Derived]:
    """What `derive` gives for each key, in order (the worker process's task)."""
    return [derive(status, reason) for status, reason in keys]


class Deriver:
    """Derives batches of keys, here or (with `worker=True`, past `inline_max`) in a process."""

    def __init__(self, *, worker: bool = False, inline_max: int | None = None) -> None:
        self.worker = worker
        self.inline_left = INLINE_MAX if inline_max is None else inline_max
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, keys: list[Key]) -> Future:
        """A future of `derive_many(keys)`."""
        if self.worker and len(keys) > self.inline_left:
            try:
                return self._process().submit(derive_many, keys)
            except Exception as exc:  # a broken pool: work here from now on
                log.warning("classifying in this process: the worker process failed (%s)", exc)
                self.worker = False
        self.inline_left -= len(keys)
        done: Future = Future()
        done.set_result(derive_many(keys))
        return done

    def _process(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # A fresh interpreter, not a fork of this threaded process with open connections.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def collect(batches: Iterable[tuple[list[Key], Future]], into: dict[Key, Derived]) -> None:
    """Add the results of submitted batches to `into`; a batch that failed is left out (its
    keys are derived when needed)."""
    for keys, future in batches:
        try:
            into.update(zip(keys, future.result(), strict=True))
        except Exception as exc:
            log.warning("classifying a batch in the worker process failed: %s", exc)
