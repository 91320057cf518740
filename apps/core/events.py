"""Publishing typed events to browsers.

Services call these helpers; the events leave only after the database commits,
so no browser ever sees a row that is rolled back. Consumers forward them.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


PRESENCE_GROUP = "presence"


def group_send_now(group: str, event_type: str, payload: dict[str, Any]) -> None:
    """Send at once: for state that is not in the database (presence lives in Redis)."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "shell.event", "event": event_type, "payload": payload}
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(layer.group_send)(group, message)
        return
    # Called from a thread that runs an event loop (sync code under a running loop,
    # e.g. a script driving a browser): async_to_sync refuses that thread, so send from another.
    sender = threading.Thread(target=async_to_sync(layer.group_send), args=(group, message))
    sender.start()
    sender.join()


def group_send_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: group_send_now(group, event_type, payload))
