"""The /ws/ gateway over a real WebSocket, against the live ASGI server, channel layer and Redis."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin

from apps.chat import presence
from apps.core.events import group_send_now, user_group
from tests.conftest import LiveServer

pytestmark = [pytest.mark.redis]

ORIGIN = "http://127.0.0.1"


def cookie_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def open_socket(server: LiveServer, user: Any | None = None, origin: str = ORIGIN) -> ClientConnection:
    headers = {"Cookie": cookie_for(user)} if user is not None else {}
    url = server.url.replace("http://", "ws://") + "/ws/"
    return ws_connect(url, origin=Origin(origin), additional_headers=headers, open_timeout=5)


def receive(socket: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=timeout))


def nothing_received(socket: ClientConnection) -> bool:
    try:
        socket.recv(timeout=0.5)
    except TimeoutError:
        return True
    return False


def test_anonymous_websocket_is_closed_as_unauthenticated(asgi_server: LiveServer) -> None:
    # The handshake completes, then the gateway closes with its "unauthenticated" code.
    with open_socket(asgi_server) as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=3)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_websocket_from_a_foreign_origin_is_refused(asgi_server: LiveServer, owner: Any) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(asgi_server, owner, origin="https://evil.example")
    assert refused.value.response.status_code == 403


def test_signed_in_tab_makes_its_user_online_then_offline(asgi_server: LiveServer, owner: Any) -> None:
    with open_socket(asgi_server, owner) as socket:
        event = receive(socket)
        assert event["type"] == "presence"
        assert (event["payload"]["user_id"], event["payload"]["status"]) == (owner.pk, "online")
        assert presence.presence_for_users([owner.pk])[owner.pk]["status"] == "online"
    # The server learns of the close asynchronously; give it a moment (not a timing assertion).
    assert wait_for(lambda: presence.presence_for_users([owner.pk])[owner.pk]["status"] == "offline")


def wait_for(condition: Any, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_colleague_sees_owner_come_online_and_leave(asgi_server: LiveServer, owner: Any, colleague: Any) -> None:
    with open_socket(asgi_server, colleague) as watcher:
        assert receive(watcher)["payload"]["user_id"] == colleague.pk
        with open_socket(asgi_server, owner):
            online = receive(watcher)
            assert (online["payload"]["user_id"], online["payload"]["status"]) == (owner.pk, "online")
        offline = receive(watcher)
        assert (offline["payload"]["user_id"], offline["payload"]["status"]) == (owner.pk, "offline")
        assert offline["payload"]["last_seen"] is not None


def test_heartbeat_with_idle_state_makes_user_away(asgi_server: LiveServer, owner: Any) -> None:
    with open_socket(asgi_server, owner) as socket:
        receive(socket)
        socket.send(json.dumps({"type": "presence.heartbeat", "state": "idle"}))
        assert receive(socket)["payload"]["status"] == "away"


def test_events_for_one_user_never_reach_another(asgi_server: LiveServer, owner: Any, outsider: Any) -> None:
    with open_socket(asgi_server, owner) as mine, open_socket(asgi_server, outsider) as theirs:
        for socket in (mine, theirs):
            while not nothing_received(socket):
                pass
        group_send_now(user_group(owner.pk), "mail.new", {"subject": "for Olivia only"})
        assert receive(mine) == {"type": "mail.new", "payload": {"subject": "for Olivia only"}}
        assert nothing_received(theirs)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "frame must be a JSON object"),
        (json.dumps([1, 2]), "frame must be a JSON object"),
        (json.dumps({"type": "presence.heartbeat", "state": "asleep"}), "unknown presence state"),
        (json.dumps({"type": "drop.tables"}), "unknown frame type"),
    ],
)
def test_bad_frames_get_an_error_and_keep_the_socket(
    asgi_server: LiveServer, owner: Any, frame: str, reason: str
) -> None:
    with open_socket(asgi_server, owner) as socket:
        receive(socket)
        socket.send(frame)
        assert receive(socket) == {"type": "error", "payload": {"reason": reason}}
        socket.send(json.dumps({"type": "ping"}))
        assert receive(socket) == {"type": "pong", "payload": {}}


def test_oversized_frame_closes_the_socket(asgi_server: LiveServer, owner: Any) -> None:
    with open_socket(asgi_server, owner) as socket:
        receive(socket)
        socket.send("x" * 20000)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=3)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400


def test_socket_that_vanishes_while_an_event_is_sent_still_leaves(owner: Any) -> None:
    """uvicorn ends the application without a disconnect message when a send finds the client gone.

    The consumer is driven directly (a stand-in for the server's two ASGI callables, the one thing
    not reproducible on demand over a real socket): its own "online" event hits the vanished client.
    """
    import asyncio

    from apps.core.consumers import ShellConsumer

    sent: list[str] = []

    async def scenario() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await inbox.put({"type": "websocket.connect"})

        async def receive() -> dict[str, Any]:
            return await inbox.get()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])
            if message["type"] == "websocket.send":
                raise OSError("client gone")  # what uvicorn's ClientDisconnected is

        app = ShellConsumer.as_asgi()
        scope = {"type": "websocket", "path": "/ws/", "headers": [], "user": owner}
        task = asyncio.ensure_future(app(scope, receive, send))
        deadline = time.monotonic() + 10
        while "websocket.send" not in sent and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert presence.presence_for_users([owner.pk])[owner.pk]["status"] == "online"
        await inbox.put({"type": "websocket.disconnect", "code": 1006})
        await asyncio.wait_for(task, timeout=10)

    asyncio.run(scenario())
    assert sent[:2] == ["websocket.accept", "websocket.send"]
    assert presence.presence_for_users([owner.pk])[owner.pk]["status"] == "offline"
