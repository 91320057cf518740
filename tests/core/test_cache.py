"""The Redis cache backend: Django's, with one client per connection pool."""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

pytestmark = pytest.mark.redis


def test_one_client_serves_every_call() -> None:
    backend = cache._cache  # type: ignore[attr-defined]
    assert backend.get_client("a") is backend.get_client("b", write=True)


def test_values_round_trip_through_the_shared_client() -> None:
    cache.set("cache-test:value", {"unread": 3}, 30)
    assert cache.get("cache-test:value") == {"unread": 3}
    cache.delete("cache-test:value")
    assert cache.get("cache-test:value", "gone") == "gone"


def test_threads_share_the_client_without_mixing_answers() -> None:
    # Each thread reads back its own key many times over the one client and its pool.
    errors: list[str] = []

    def worker(n: int) -> None:
        for round_ in range(50):
            cache.set(f"cache-test:thread:{n}", (n, round_), 30)
            got = cache.get(f"cache-test:thread:{n}")
            if got != (n, round_):
                errors.append(f"thread {n} round {round_} read {got!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.delete_many([f"cache-test:thread:{n}" for n in range(8)])
    assert errors == []
