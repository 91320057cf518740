"""Shared fixtures: personas, a live ASGI server, a headless Chromium.

Markers: `browser` (Chromium + live server), `mailstack` (real Dovecot + Postfix,
see tests/mailstack.py). Set RUCHE_TEST_REQUIRE_ALL=1 (CI does) to turn a missing
service into a failure instead of a skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, UserFactory

pytest_plugins = ["tests.mailstack"]

REQUIRE_ALL = os.environ.get("RUCHE_TEST_REQUIRE_ALL") == "1"
CHROMIUM = os.environ.get("RUCHE_CHROMIUM", "/usr/bin/chromium")


def missing_service(reason: str) -> None:
    """Skip locally, fail in CI: a suite that silently skips proves nothing."""
    if REQUIRE_ALL:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


# ---------------------------------------------------------------- personas
@pytest.fixture
def owner(db: None) -> Any:
    return UserFactory(username="olivia", display_name="Olivia Owner", first_name="Olivia")


@pytest.fixture
def colleague(db: None) -> Any:
    return UserFactory(username="colin", display_name="Colin Colleague", first_name="Colin")


@pytest.fixture
def outsider(db: None) -> Any:
    return UserFactory(username="oscar", display_name="Oscar Outsider", first_name="Oscar")


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def owner_client(owner: Any) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture(autouse=True)
def _clean_presence() -> Iterator[None]:
    """Presence lives in Redis; each test starts with nobody connected (and no cached preferences)."""
    yield
    from apps.core.redis import get_redis

    r = get_redis()
    try:
        # Presence, and cached rows keyed by ids a later test may be given again (SQLite reuses them).
        keys = list(r.scan_iter(f"{settings.RUCHE_REDIS_PREFIX}:presence:*", count=500))
        keys += r.scan_iter(f"{settings.RUCHE_REDIS_PREFIX}:*:mail:preferences:*", count=500)
        if keys:
            r.delete(*keys)
    except Exception:  # noqa: S110 - Redis down: the tests that need it report it themselves
        pass


# ---------------------------------------------------------------- live ASGI server
class LiveServer:
    """uvicorn serving groupware.asgi in a thread of the test process.

    Same process, so the server uses the test database and the worker's Redis prefix.
    """

    def __init__(self) -> None:
        import uvicorn

        from groupware.asgi import application as ruche

        # Requests in flight are counted, so a test's teardown can wait for the ones its page
        # started before the database is flushed (a flush under a running request deadlocked).
        self.in_flight = 0
        self.idle = threading.Condition()

        async def application(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await ruche(scope, receive, send)
            with self.idle:
                self.in_flight += 1
            try:
                await ruche(scope, receive, send)
            finally:
                with self.idle:
                    self.in_flight -= 1
                    self.idle.notify_all()

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(application, lifespan="off", log_level="warning", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="live-asgi", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live ASGI server did not start")
            time.sleep(0.02)

    def wait_idle(self, timeout: float = 10) -> None:
        """Returns once no HTTP request is being served (or after `timeout` seconds)."""
        with self.idle:
            self.idle.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _live_server_process() -> Iterator[LiveServer]:
    server = LiveServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def asgi_server(_live_server_process: LiveServer, transactional_db: None) -> LiveServer:
    # ALLOWED_HOSTS already holds 127.0.0.1; the WebSocket origin check uses it too.
    return _live_server_process


# ---------------------------------------------------------------- browser
@pytest.fixture(scope="session")
def _playwright_browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        missing_service(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(_playwright_browser: Any, asgi_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Opens browser contexts (separate cookie jars: one per person); all closed after the test."""
    contexts: list[Any] = []

    def make(user: Any | None = None, **options: Any) -> Any:
        options.setdefault("base_url", asgi_server.url)
        options.setdefault("locale", "en-US")
        context = _playwright_browser.new_context(**options)
        context.set_default_timeout(10_000)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": asgi_server.url,
                    }
                ]
            )
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    asgi_server.wait_idle()  # what the pages started ends before the database is flushed


@pytest.fixture
def page(new_context: Callable[..., Any]) -> Any:
    """A page with no one signed in."""
    return new_context().new_page()


AXE_PATH = os.path.join(os.path.dirname(__file__), "vendor", "axe.min.js")


@pytest.fixture
def axe() -> Callable[[Any], list[dict[str, Any]]]:
    """Runs axe-core on a page; returns the serious and critical violations.

    The script is evaluated through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the policy stays strict.
    """
    with open(AXE_PATH, encoding="utf-8") as handle:
        source = handle.read()

    def run(page: Any) -> list[dict[str, Any]]:
        page.evaluate(source)
        result = page.evaluate(
            "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
            "'best-practice']})).violations.map(v => ({id: v.id, impact: v.impact, help: v.help, "
            "nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]

    return run
