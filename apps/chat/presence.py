"""Presence: online, away, busy, offline, with last seen — kept in Redis with expiry.

Each open tab is a *connection* that sends a heartbeat with its state (active,
idle, hidden). A user's status is derived from their live connections:

    no live connection            -> offline (last seen = last heartbeat)
    busy flag set (by the user)   -> busy
    any connection active         -> online
    otherwise (idle or hidden)    -> away

A connection lives until `RUCHE_PRESENCE_TTL` seconds after its last heartbeat,
so a crashed web process cannot leave anyone online: `presence_sweep` (beat,
every few seconds) drops expired connections and publishes the change.
Every change of a user's status is published to the presence group once.
"""

from __future__ import annotations

import time
from typing import Literal, TypedDict

from django.conf import settings

from apps.core.events import PRESENCE_GROUP, group_send_now
from apps.core.redis import get_redis, key

Status = Literal["online", "away", "busy", "offline"]
ConnectionState = Literal["active", "idle", "hidden"]
CONNECTION_STATES: tuple[ConnectionState, ...] = ("active", "idle", "hidden")


class PresencePayload(TypedDict):
    user_id: int
    status: Status
    last_seen: float | None


def _conns_key(user_id: int) -> str:
    return key("presence", "conns", user_id)


def _expiry_key() -> str:
    return key("presence", "expiry")


def _status_key(user_id: int) -> str:
    return key("presence", "status", user_id)


def _busy_key(user_id: int) -> str:
    return key("presence", "busy", user_id)


def _last_seen_key(user_id: int) -> str:
    return key("presence", "last_seen", user_id)


def _member(user_id: int, conn_id: str) -> str:
    return f"{user_id}:{conn_id}"


def _compute_many(user_ids: list[int], now: float) -> dict[int, tuple[Status, float | None]]:
    """Statuses of several users in two Redis round trips."""
    r = get_redis()
    pipe = r.pipeline()
    for user_id in user_ids:
        pipe.hgetall(_conns_key(user_id))
        pipe.get(_last_seen_key(user_id))
        pipe.exists(_busy_key(user_id))
    raw = pipe.execute()
    conns = {uid: raw[i * 3] for i, uid in enumerate(user_ids)}
    members = [_member(uid, conn) for uid in user_ids for conn in conns[uid]]
    scores = r.zmscore(_expiry_key(), members) if members else []
    expiry = dict(zip(members, scores, strict=True))
    result: dict[int, tuple[Status, float | None]] = {}
    for i, uid in enumerate(user_ids):
        last_seen = float(raw[i * 3 + 1]) if raw[i * 3 + 1] else None
        live = [state for conn, state in conns[uid].items() if (expiry.get(_member(uid, conn)) or 0) >= now]
        status: Status
        if not live:
            status = "offline"
        elif raw[i * 3 + 2]:
            status = "busy"
        elif "active" in live:
            status = "online"
        else:
            status = "away"
        result[uid] = (status, last_seen)
    return result


def _refresh(user_id: int, now: float) -> PresencePayload:
    """Recompute a user's status and publish it if it changed.

    Serialised per user: two tabs (or two web processes) refreshing at once could otherwise read
    "online" and "offline" in one order and store them in the other, leaving a closed user online.
    """
    with get_redis().lock(key("presence", "lock", user_id), timeout=5, blocking_timeout=5):
        status, last_seen = _compute_many([user_id], max(now, time.time()))[user_id]
        previous = get_redis().getset(_status_key(user_id), status)
        payload: PresencePayload = {"user_id": user_id, "status": status, "last_seen": last_seen}
        if previous != status:
            group_send_now(PRESENCE_GROUP, "presence", dict(payload))
    return payload


def presence_touch(*, user_id: int, conn_id: str, state: ConnectionState) -> PresencePayload:
    """A tab connected or sent a heartbeat."""
    if state not in CONNECTION_STATES:
        raise ValueError(f"unknown connection state {state!r}")
    now = time.time()
    r = get_redis()
    pipe = r.pipeline()
    pipe.hset(_conns_key(user_id), conn_id, state)
    pipe.zadd(_expiry_key(), {_member(user_id, conn_id): now + settings.RUCHE_PRESENCE_TTL})
    pipe.set(_last_seen_key(user_id), now)
    pipe.execute()
    return _refresh(user_id, now)


def presence_disconnect(*, user_id: int, conn_id: str) -> PresencePayload:
    """A tab closed cleanly."""
    now = time.time()
    r = get_redis()
    pipe = r.pipeline()
    pipe.hdel(_conns_key(user_id), conn_id)
    pipe.zrem(_expiry_key(), _member(user_id, conn_id))
    pipe.set(_last_seen_key(user_id), now)
    pipe.execute()
    return _refresh(user_id, now)


def presence_set_busy(*, user_id: int, busy: bool) -> PresencePayload:
    r = get_redis()
    if busy:
        r.set(_busy_key(user_id), "1")
    else:
        r.delete(_busy_key(user_id))
    return _refresh(user_id, time.time())


def presence_sweep() -> int:
    """Drop connections whose heartbeats stopped; returns how many were dropped."""
    now = time.time()
    r = get_redis()
    expired = r.zrangebyscore(_expiry_key(), "-inf", now)
    if not expired:
        return 0
    users: set[int] = set()
    pipe = r.pipeline()
    for member in expired:
        user_part, _, conn_id = str(member).partition(":")
        users.add(int(user_part))
        pipe.hdel(_conns_key(int(user_part)), conn_id)
        pipe.zrem(_expiry_key(), str(member))
    pipe.execute()
    for user_id in users:
        _refresh(user_id, now)
    return len(expired)


def presence_for_users(user_ids: list[int]) -> dict[int, PresencePayload]:
    """Current status of several users (reads only; nothing is published)."""
    computed = _compute_many(user_ids, time.time())
    return {
        uid: {"user_id": uid, "status": status, "last_seen": last_seen} for uid, (status, last_seen) in computed.items()
    }


def is_busy(user_id: int) -> bool:
    return bool(get_redis().exists(_busy_key(user_id)))


def users_connected() -> set[int]:
    """Users with at least one live connection (an open tab), in one Redis round trip."""
    members = get_redis().zrangebyscore(_expiry_key(), time.time(), "+inf")
    return {int(str(member).partition(":")[0]) for member in members}
