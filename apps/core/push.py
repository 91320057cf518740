"""The push process: follows who has Ruche open and keeps mail watchers for them.

`PushSupervisor` runs one loop: write the push heartbeat, read the users with an
open tab (presence, in Redis), and tell the watcher pool who came and who left.
Watching mailboxes (IMAP IDLE per account) arrives with the webmail; it plugs in
as a `WatcherPool`. Until then `NoWatchers` is used and the loop still proves
the process is alive and following presence.

Redis going away is expected (restart, failover): the loop logs it, waits with
a growing backoff and carries on. A stop request (SIGTERM/SIGINT) interrupts
any wait at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from types import FrameType
from typing import Protocol

import redis

from apps.chat.presence import users_connected
from apps.core.heartbeats import heartbeat_record

log = logging.getLogger(__name__)


class WatcherPool(Protocol):
    """Where per-account mail watchers plug in (webmail issue)."""

    def users_changed(self, *, added: frozenset[int], removed: frozenset[int]) -> None:
        """Start watching the accounts of `added` users, stop those of `removed` users."""

    def close(self) -> None:
        """Stop every watcher (the process is exiting)."""


class NoWatchers:
    """No mailbox is watched yet: the process only follows presence."""

    def users_changed(self, *, added: frozenset[int], removed: frozenset[int]) -> None:
        return None

    def close(self) -> None:
        return None


class PushSupervisor:
    def __init__(
        self,
        *,
        watchers: WatcherPool | None = None,
        interval: float = 2.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
    ) -> None:
        self.watchers: WatcherPool = watchers if watchers is not None else NoWatchers()
        self.interval = interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.connected: frozenset[int] = frozenset()
        self.iterations = 0
        self._stop = threading.Event()
        self._backoff = 0.0  # current wait after failures; 0 while all is well
        self._redis_down = False

    # ------------------------------------------------------------ control
    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        """SIGTERM (systemd, honcho) and SIGINT (Ctrl-C) end the loop cleanly."""

        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("push: stop requested (%s)", signal.Signals(signum).name, extra={"event": "push.stopping"})
            self.request_stop()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)

    # ------------------------------------------------------------ loop
    def run(self, *, max_iterations: int | None = None) -> None:
        log.info(
            "push: started",
            extra={"event": "push.started", "pid": os.getpid(), "interval": self.interval},
        )
        try:
            while not self.stopping and (max_iterations is None or self.iterations < max_iterations):
                self.iterations += 1
                delay = self.interval if self.step() else self._next_backoff()
                self._stop.wait(delay)
        finally:
            self.watchers.close()
            log.info("push: stopped", extra={"event": "push.stopped", "iterations": self.iterations})

    def step(self) -> bool:
        """One iteration; False when Redis (or a watcher) failed and the loop should back off."""
        try:
            heartbeat_record(
                component="push",
                info={"host": socket.gethostname(), "pid": os.getpid(), "users": len(self.connected)},
            )
            current = frozenset(users_connected())
        except redis.RedisError as exc:
            log.warning(
                "push: Redis is unreachable (%s); retrying in %.0f s",
                exc,
                self._peek_backoff(),
                extra={"event": "push.redis_down", "retry_in": self._peek_backoff()},
            )
            self._redis_down = True
            return False
        if self._redis_down:
            log.info("push: Redis answers again", extra={"event": "push.redis_back"})
            self._redis_down = False
        added, removed = current - self.connected, self.connected - current
        if added or removed:
            log.info(
                "push: users with an open tab changed (+%d, -%d, now %d)",
                len(added),
                len(removed),
                len(current),
                extra={
                    "event": "push.users_changed",
                    "added": sorted(added),
                    "removed": sorted(removed),
                    "connected": len(current),
                },
            )
            try:
                self.watchers.users_changed(added=added, removed=removed)
            except Exception:
                # A broken watcher must not take the process down; the next change retries.
                log.exception("push: watcher pool failed", extra={"event": "push.watchers_failed"})
                return False
        self.connected = current
        self._backoff = 0.0
        return True

    def _peek_backoff(self) -> float:
        return min(self.backoff_max, self._backoff * 2) if self._backoff else self.backoff_initial

    def _next_backoff(self) -> float:
        self._backoff = self._peek_backoff()
        return self._backoff
