"""Publishing typed events to browsers.

Services call these helpers; the events leave only after the database commits,
so no browser ever sees a row that is rolled back. Consumers forward them.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


PRESENCE_GROUP = "presence"


SEND_TIMEOUT = 10.0  # seconds: a Redis that does not answer fails the publish, it does not hang


class _PublishLoop:
    """One event loop per process, in its own thread, for publishing from sync code.

    async_to_sync would run a new loop for each event, and the Redis channel layer keeps its
    connections per loop: each event paid a new connection (~24 ms, a fifth of a send). This loop
    keeps them. A child forked after it started (Celery's prefork pool) makes its own: threads do
    not survive fork.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="ruche-events", daemon=True).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_publish_loop = _PublishLoop()


def group_send_now(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send at once: for state that is not in the database (presence lives in Redis)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "shell.event", "event": event_type, "payload": payload}
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _publish_loop.get())
    try:
        future.result(timeout=SEND_TIMEOUT)
    except TimeoutError:
        future.cancel()
        raise


def group_send_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: group_send_now(group, event_type, payload))
