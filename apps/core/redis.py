"""The process's Redis connection (presence, heartbeats). Cache and channels have their own."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

import redis
from django.conf import settings
from redis.exceptions import LockError

log = logging.getLogger(__name__)


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5, decode_responses=True)


def key(*parts: object) -> str:
    """A Redis key under this installation's prefix."""
    return ":".join([settings.RUCHE_REDIS_PREFIX, *map(str, parts)])


@contextmanager
def held_lock(name: str, *, ttl: float, busy: Callable[[str], Exception], what: str) -> Iterator[Callable[[], None]]:
    """Holds a Redis lock with expiry without waiting; yields a function that renews it.

    `busy(message)` builds the exception raised when another process holds the lock (or when it
    expired while held: the work must stop, someone else may have taken over). `what` names the
    work in messages and logs.
    """
    lock = get_redis().lock(name, timeout=ttl)
    if not lock.acquire(blocking=False):
        raise busy(f"{what} is already running in another worker")

    def keepalive() -> None:
        try:
            lock.reacquire()
        except LockError:
            raise busy(f"the lock of {what} expired") from None

    try:
        yield keepalive
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("the lock of %s had expired", what)
