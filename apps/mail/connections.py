"""Logged-in IMAP connections kept per process, so opening a message costs no login.

A web process serves many clicks of the same person in a row; logging in for each would add a
TCP (and TLS) handshake and an authentication to every message opened. Connections are keyed
by the account's server settings, used by one thread at a time, dropped after an error and
closed when idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from apps.mail.imap import ImapConnection, ImapConnectionError, ImapError, ImapLoginError, ImapSettings

if TYPE_CHECKING:
    from apps.mail.models import MailAccount

IDLE_SECONDS = 120.0
T = TypeVar("T")


@dataclass
class _Entry:
    key: tuple[object, ...]
    connection: ImapConnection
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_used: float = field(default_factory=time.monotonic)


_pool: dict[int, _Entry] = {}
_guard = threading.Lock()


def _key(account: MailAccount) -> tuple[object, ...]:
    # The encrypted password is part of the key: a new password means a new connection.
    return (account.imap_host, account.imap_port, account.imap_security, account.imap_username, account.imap_password)


def _entry_for(account: MailAccount) -> _Entry:
    key = _key(account)
    stale: list[_Entry] = []
    with _guard:
        now = time.monotonic()
        for account_id, entry in list(_pool.items()):
            if now - entry.last_used > IDLE_SECONDS and not entry.lock.locked():
                stale.append(_pool.pop(account_id))
        found = _pool.get(account.pk)
        if found is not None and found.key != key:
            stale.append(_pool.pop(account.pk))
            found = None
        entry = found or _Entry(key=key, connection=ImapConnection(ImapSettings.for_account(account)))
        _pool[account.pk] = entry
    for old in stale:
        old.connection.close()
    return entry


def _drop(account_id: int, entry: _Entry) -> None:
    with _guard:
        if _pool.get(account_id) is entry:
            del _pool[account_id]
    entry.connection.close()


def imap_call(account: MailAccount, operation: Callable[[ImapConnection], T]) -> T:
    """Runs `operation` on the account's pooled connection; one retry on a fresh connection.

    The retry covers a connection the server closed while it sat idle. A refused login is
    not retried: it would only count against the user at the server.
    """
    for attempt in (1, 2):
        entry = _entry_for(account)
        with entry.lock:
            try:
                _ensure_open(entry.connection)
                result = operation(entry.connection)
            except ImapLoginError:
                _drop(account.pk, entry)
                raise
            except ImapConnectionError:
                _drop(account.pk, entry)
                if attempt == 2:
                    raise
                continue
            entry.last_used = time.monotonic()
            return result
    raise AssertionError("unreachable")


def _ensure_open(connection: ImapConnection) -> None:
    try:
        connection.client  # noqa: B018 - raises when the connection is not open
    except ImapError:
        connection.open()


def close_all() -> None:
    """Closes every pooled connection (process shutdown, tests)."""
    with _guard:
        entries = list(_pool.values())
        _pool.clear()
    for entry in entries:
        entry.connection.close()
