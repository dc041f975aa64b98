"""Fetching an iterator's next item in the background while the caller works on this one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """Yield what `items` yields, asking it for the next item as soon as one is handed out.

    For an iterator that waits on the network (a paged listing), the next page is in flight
    while the caller processes this one. `items` is only ever advanced by one thread at a time,
    in order, and its exceptions reach the caller at the item where they happened. When the
    caller stops early, at most one item more is fetched, and then dropped.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as pool:
        pending = pool.submit(next, items, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = pool.submit(next, items, _END)
            yield item
