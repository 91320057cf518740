from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings


def clear_cache_entries() -> None:
    """Deletes this test process's cache entries (rate-limit counters, used TOTP codes).

    Never `cache.clear()`: on Redis that is FLUSHDB, which would wipe every other
    process sharing the server.
    """
    from apps.core.redis import get_redis

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    r = get_redis()
    keys = list(r.scan_iter(f"{prefix}:*", count=500))
    cache_keys = [k for k in keys if k.startswith(f"{prefix}:1:")]
    if cache_keys:
        r.delete(*cache_keys)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    clear_cache_entries()
    yield
    clear_cache_entries()
