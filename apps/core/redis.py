"""The process's Redis connection (presence, heartbeats). Cache and channels have their own."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, decode_responses=True)


def key(*parts: object) -> str:
    """A Redis key under this installation's prefix."""
    return ":".join([settings.RUCHE_REDIS_PREFIX, *map(str, parts)])
