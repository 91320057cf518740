"""Presence service against the real Redis: status rules, expiry, published changes."""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.test import override_settings

from apps.chat import presence
from apps.core.events import PRESENCE_GROUP

pytestmark = pytest.mark.redis


def in_thread(call: Any) -> None:
    """Run in a helper thread: the test thread may hold Playwright's event loop."""
    worker = threading.Thread(target=call)
    worker.start()
    worker.join()


class GroupListener:
    """A real channel-layer member of the presence group, as a browser tab would be.

    A plain (not process-specific) channel name, so each drain can use a fresh layer
    instance in its own event loop.
    """

    def __init__(self) -> None:
        self.channel = f"test.presence.{uuid.uuid4().hex}"
        in_thread(lambda: async_to_sync(self._layer().group_add)(PRESENCE_GROUP, self.channel))

    @staticmethod
    def _layer() -> RedisChannelLayer:
        return RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])

    def drain(self, user_id: int) -> list[dict[str, Any]]:
        """Events about `user_id` (other tests' tabs may still be closing in the background)."""
        received: list[dict[str, Any]] = []

        async def pull() -> None:
            layer = self._layer()
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(self.channel), timeout=0.3)
                except TimeoutError:
                    return
                if message["payload"]["user_id"] == user_id:
                    received.append(message["payload"])

        in_thread(async_to_sync(pull))
        return received

    def close(self) -> None:
        in_thread(lambda: async_to_sync(self._layer().group_discard)(PRESENCE_GROUP, self.channel))


@pytest.fixture
def uid() -> int:
    """A user id no other test uses (presence keys are per id)."""
    return random.randint(10**6, 10**9)


@pytest.fixture
def listener():
    listening = GroupListener()
    yield listening
    listening.close()


def status_of(user_id: int) -> str:
    return presence.presence_for_users([user_id])[user_id]["status"]


def test_user_without_connection_is_offline_and_never_seen(uid: int) -> None:
    state = presence.presence_for_users([uid])[uid]
    assert state == {"user_id": uid, "status": "offline", "last_seen": None}


def test_active_tab_makes_user_online_and_is_published(uid: int, listener: GroupListener) -> None:
    presence.presence_touch(user_id=uid, conn_id="tab1", state="active")
    assert status_of(uid) == "online"
    events = listener.drain(uid)
    assert [(e["user_id"], e["status"]) for e in events] == [(uid, "online")]


def test_heartbeat_without_change_publishes_nothing(uid: int, listener: GroupListener) -> None:
    presence.presence_touch(user_id=uid, conn_id="tab1", state="active")
    listener.drain(uid)
    presence.presence_touch(user_id=uid, conn_id="tab1", state="active")
    assert listener.drain(uid) == []


def test_idle_or_hidden_tabs_make_user_away_but_one_active_tab_wins(uid: int) -> None:
    presence.presence_touch(user_id=uid, conn_id="a", state="idle")
    assert status_of(uid) == "away"
    presence.presence_touch(user_id=uid, conn_id="b", state="hidden")
    assert status_of(uid) == "away"
    presence.presence_touch(user_id=uid, conn_id="b", state="active")
    assert status_of(uid) == "online"


def test_busy_is_kept_while_connected_and_offline_wins_when_gone(uid: int) -> None:
    presence.presence_touch(user_id=uid, conn_id="a", state="active")
    presence.presence_set_busy(user_id=uid, busy=True)
    assert status_of(uid) == "busy"
    presence.presence_disconnect(user_id=uid, conn_id="a")
    assert status_of(uid) == "offline"
    presence.presence_touch(user_id=uid, conn_id="c", state="active")
    assert status_of(uid) == "busy"
    presence.presence_set_busy(user_id=uid, busy=False)
    assert status_of(uid) == "online"


def test_closing_last_tab_goes_offline_with_last_seen(uid: int, listener: GroupListener) -> None:
    before = time.time()
    presence.presence_touch(user_id=uid, conn_id="a", state="active")
    presence.presence_touch(user_id=uid, conn_id="b", state="active")
    presence.presence_disconnect(user_id=uid, conn_id="a")
    assert status_of(uid) == "online"
    presence.presence_disconnect(user_id=uid, conn_id="b")
    state = presence.presence_for_users([uid])[uid]
    assert state["status"] == "offline"
    assert state["last_seen"] is not None
    assert state["last_seen"] >= before
    assert [e["status"] for e in listener.drain(uid)] == ["online", "offline"]


@override_settings(RUCHE_PRESENCE_TTL=1)
def test_connection_of_a_crashed_process_expires_and_sweep_publishes_offline(uid: int, listener: GroupListener) -> None:
    # A web process that dies never calls disconnect: only the expiry can end the connection.
    presence.presence_touch(user_id=uid, conn_id="ghost", state="active")
    assert status_of(uid) == "online"
    time.sleep(1.2)
    assert status_of(uid) == "offline"  # readers already ignore the expired connection
    listener.drain(uid)
    assert presence.presence_sweep() == 1
    assert [(e["user_id"], e["status"]) for e in listener.drain(uid)] == [(uid, "offline")]
    assert presence.presence_sweep() == 0


def test_unknown_connection_state_is_refused(uid: int) -> None:
    with pytest.raises(ValueError, match="unknown connection state"):
        presence.presence_touch(user_id=uid, conn_id="a", state="dancing")  # type: ignore[arg-type]
