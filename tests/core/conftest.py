"""Fixtures for the operations tests: heartbeats live in Redis under the worker's prefix."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings

from apps.core.redis import get_redis


def _forget_heartbeats() -> None:
    r = get_redis()
    keys = list(r.scan_iter(f"{settings.RUCHE_REDIS_PREFIX}:health:*", count=500))
    if keys:
        r.delete(*keys)


@pytest.fixture
def no_heartbeats() -> Iterator[None]:
    """Each test starts (and ends) with no process having reported in."""
    _forget_heartbeats()
    yield
    _forget_heartbeats()


@pytest.fixture
def no_mail_stack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The status reads RUCHE_MAIL_STACK_ENV from the environment; a developer's shell may set it."""
    monkeypatch.delenv("RUCHE_MAIL_STACK_ENV", raising=False)


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (connecting is refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], object], *, timeout: float = 15.0, what: str = "condition") -> None:
    """Poll until `condition()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
