"""Heartbeats of the background processes (Celery worker, Celery beat, push), kept in Redis.

Each process proves it is alive by writing its own heartbeat:

- **beat**: when beat publishes the periodic `core.heartbeat` message, a publish
  hook running *in beat's process* records beat's tick and stamps the message
  with the send time (`ruche_sent_at` header).
- **worker**: the `core.heartbeat` task records that a worker ran it, and how
  long the message waited in the queue.
- **push**: the push process records its heartbeat on every loop.

Heartbeats expire, so a process that stopped long ago reads as "no heartbeat"
rather than as a timestamp nobody refreshes. `apps.core.health` reads them.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import redis

from apps.core.redis import get_redis, key

log = logging.getLogger(__name__)

Component = Literal["worker", "beat", "push"]
COMPONENTS: tuple[Component, ...] = ("worker", "beat", "push")

HEARTBEAT_TASK = "core.heartbeat"
# Set on the beat schedule entry (groupware/celery.py) so the hook knows beat sent it.
ORIGIN_HEADER = "ruche_origin"
SENT_AT_HEADER = "ruche_sent_at"
# After this long without a refresh a heartbeat disappears: "never seen / gone".
HEARTBEAT_TTL_SECONDS = 600


@dataclass(frozen=True)
class Heartbeat:
    component: Component
    at: float
    info: dict[str, str]

    def age(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.at)


def _heartbeat_key(component: Component) -> str:
    return key("health", "heartbeat", component)


def heartbeat_record(
    *,
    component: Component,
    at: float | None = None,
    info: Mapping[str, str | int | float] | None = None,
    client: redis.Redis | None = None,
) -> None:
    """Record that `component` was alive at `at` (now by default), with a few facts about it."""
    r = client if client is not None else get_redis()
    fields: dict[str, str] = {"at": repr(time.time() if at is None else at)}
    fields.update({name: str(value) for name, value in (info or {}).items()})
    name = _heartbeat_key(component)
    pipe = r.pipeline()
    pipe.delete(name)  # old facts (a previous host) must not linger next to a new timestamp
    for field, value in fields.items():
        pipe.hset(name, field, value)
    pipe.expire(name, HEARTBEAT_TTL_SECONDS)
    pipe.execute()


def heartbeat_get(*, component: Component, client: redis.Redis | None = None) -> Heartbeat | None:
    """The last heartbeat of `component`, or None when there is none (never, or expired)."""
    r = client if client is not None else get_redis()
    raw = {str(field): str(value) for field, value in r.hgetall(_heartbeat_key(component)).items()}
    if not raw or "at" not in raw:
        return None
    try:
        at = float(raw.pop("at"))
    except ValueError:
        return None
    return Heartbeat(component=component, at=at, info=raw)


def heartbeat_stamp_message(*, headers: MutableMapping[str, Any]) -> None:
    """Publish hook for `core.heartbeat`: stamp the send time; when beat sends it, record beat's tick.

    Runs in the publishing process (beat), so beat's heartbeat does not depend on
    a worker being up. It must never break publishing: errors are logged only.
    """
    if headers.get("task") != HEARTBEAT_TASK:
        return
    sent_at = time.time()
    headers[SENT_AT_HEADER] = sent_at
    if headers.get(ORIGIN_HEADER) != "beat":
        return
    try:
        heartbeat_record(component="beat", at=sent_at, info={"host": socket.gethostname(), "pid": os.getpid()})
    except redis.RedisError as exc:
        log.warning("beat heartbeat not recorded: %s", exc, extra={"event": "heartbeat.beat_failed"})


def heartbeat_worker_ran(*, sent_at: float | None, hostname: str | None) -> None:
    """The `core.heartbeat` task ran on a worker: record it (with the time it waited in the queue)."""
    now = time.time()
    info: dict[str, str | int | float] = {"host": hostname or socket.gethostname(), "pid": os.getpid()}
    if sent_at is not None:
        info["queue_delay"] = round(max(0.0, now - sent_at), 3)
    heartbeat_record(component="worker", at=now, info=info)
