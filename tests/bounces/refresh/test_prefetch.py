"""The background prefetch the refresh lists pages through."""

from __future__ import annotations

import threading

import pytest

from bounceadmin.bounces.refresh.prefetch import prefetched


def test_yields_everything_in_order_and_fetches_one_ahead():
    fetched: list[int] = []
    threads: set[str] = set()

    def pages():
        for n in range(5):
            threads.add(threading.current_thread().name)
            fetched.append(n)
            yield n

    seen = []
    for item in prefetched(pages()):
        seen.append(item)
        # The next item was asked for when this one was handed out; wait for it to arrive.
        for _ in range(1000):
            if len(fetched) >= min(item + 2, 5):
                break
            threading.Event().wait(0.001)
        assert len(fetched) == min(item + 2, 5)
    assert seen == [0, 1, 2, 3, 4]
    assert threads and threading.current_thread().name not in threads


def test_an_error_reaches_the_caller_at_the_item_where_it_happened():
    def pages():
        yield 1
        yield 2
        raise ConnectionError("upstream went away")

    seen = []
    with pytest.raises(ConnectionError, match="went away"):
        for item in prefetched(pages()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_fetches_at_most_one_more_item():
    fetched: list[int] = []

    def pages():
        for n in range(100):
            fetched.append(n)
            yield n

    for item in prefetched(pages()):
        if item == 3:
            break
    assert fetched == [0, 1, 2, 3, 4]


def test_an_empty_iterator_yields_nothing():
    assert list(prefetched(iter([]))) == []
