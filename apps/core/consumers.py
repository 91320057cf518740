"""The one WebSocket each browser tab opens, at /ws/.

A thin gateway: it authenticates, joins the user's groups, validates inbound
frames and hands them to services; events published by services are forwarded
as JSON `{"type": ..., "payload": ...}`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.chat import presence
from apps.core.events import PRESENCE_GROUP, user_group

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16 * 1024
CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_FRAME = 4400


def _redis_call(function: Any) -> Any:
    # Presence talks to Redis only (no ORM): run it in the loop's thread pool, not in the one
    # thread that database_sync_to_async shares between every socket of the process, where a
    # slow call on one socket would delay every other socket's connect and disconnect.
    return sync_to_async(function, thread_sensitive=False)


class ShellConsumer(AsyncJsonWebsocketConsumer):
    user_id: int
    conn_id: str
    groups_joined: list[str]
    left = False

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            # Accept, then close with our code: a tab whose session ended learns why
            # (and goes back to the login page) instead of retrying for ever.
            await self.accept()
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.conn_id = uuid.uuid4().hex
        self.groups_joined = [user_group(self.user_id), PRESENCE_GROUP]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await _redis_call(presence.presence_touch)(user_id=self.user_id, conn_id=self.conn_id, state="active")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # The server ends the application without a "disconnect" message when a send finds the
        # client gone (uvicorn raises ClientDisconnected, an OSError): leave anyway, or the user
        # would stay online and in the groups until expiry.
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._leave()

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        if not hasattr(self, "conn_id") or self.left:
            return
        self.left = True
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        await _redis_call(presence.presence_disconnect)(user_id=self.user_id, conn_id=self.conn_id)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        # Frames come from the browser: anything but a small JSON object is refused.
        if text_data is None or len(text_data) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_BAD_FRAME)
            return
        await super().receive(text_data=text_data, **kwargs)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "payload": {"reason": "frame must be a JSON object"}})
            return
        kind = content.get("type")
        if kind == "presence.heartbeat":
            state = content.get("state")
            if state not in presence.CONNECTION_STATES:
                await self.send_json({"type": "error", "payload": {"reason": "unknown presence state"}})
                return
            await _redis_call(presence.presence_touch)(user_id=self.user_id, conn_id=self.conn_id, state=state)
        elif kind == "ping":
            await self.send_json({"type": "pong", "payload": {}})
        else:
            await self.send_json({"type": "error", "payload": {"reason": "unknown frame type"}})

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        import json

        try:
            return json.loads(text_data)
        except ValueError:
            return None

    async def shell_event(self, message: dict[str, Any]) -> None:
        try:
            await self.send_json({"type": message["event"], "payload": message["payload"]})
        except OSError:
            # The tab is closing; the server's disconnect message follows and we leave then.
            log.debug("event for a closing socket dropped")
