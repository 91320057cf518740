"""Publishing typed events to browsers.

Services call these helpers; the events leave only after the database commits,
so no browser ever sees a row that is rolled back. Consumers forward them.
"""

from __future__ import annotations

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
    async_to_sync(layer.group_send)(group, {"type": "shell.event", "event": event_type, "payload": payload})


def group_send_on_commit(group: str, event_type: str, payload: dict[str, Any]) -> None:
    transaction.on_commit(lambda: group_send_now(group, event_type, payload))
