"""The push process: its heartbeat, following who has a tab open, Redis going away, clean stops."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from apps.chat.presence import presence_disconnect, presence_touch, users_connected
from apps.core.heartbeats import heartbeat_get
from apps.core.push import PushSupervisor
from apps.core.redis import get_redis
from tests.conftest import missing_service
from tests.core.conftest import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_heartbeats")]

BASE_DIR = Path(__file__).resolve().parents[2]


class RecordingWatchers:
    """A watcher pool that remembers what it was told (the mail watchers plug in the same way)."""

    def __init__(self) -> None:
        self.watched: set[int] = set()
        self.closed = False

    def users_changed(self, *, added: frozenset[int], removed: frozenset[int]) -> None:
        self.watched |= added
        self.watched -= removed

    def close(self) -> None:
        self.closed = True


def run_in_thread(supervisor: PushSupervisor, *, max_iterations: int = 5000) -> threading.Thread:
    thread = threading.Thread(target=supervisor.run, kwargs={"max_iterations": max_iterations}, daemon=True)
    thread.start()
    return thread


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[Any]:
    return [record for record in caplog.records if getattr(record, "event", None) == name]


def test_users_connected_lists_the_users_with_a_live_tab() -> None:
    presence_touch(user_id=101, conn_id="a", state="active")
    presence_touch(user_id=102, conn_id="b", state="hidden")
    presence_disconnect(user_id=102, conn_id="b")

    assert users_connected() == {101}


@pytest.mark.django_db
def test_push_writes_its_heartbeat_and_notices_a_user_who_connects_then_leaves(
    owner: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="apps.core.push")
    watchers = RecordingWatchers()
    supervisor = PushSupervisor(watchers=watchers, interval=0.02)
    thread = run_in_thread(supervisor)
    try:
        wait_until(lambda: heartbeat_get(component="push") is not None, what="the push heartbeat")
        assert supervisor.connected == frozenset()

        presence_touch(user_id=owner.pk, conn_id="tab-1", state="active")
        wait_until(lambda: owner.pk in watchers.watched, what="the watcher pool to hear of the user")
        assert supervisor.connected == frozenset({owner.pk})

        presence_disconnect(user_id=owner.pk, conn_id="tab-1")
        wait_until(lambda: owner.pk not in watchers.watched, what="the watcher pool to hear the user left")
    finally:
        supervisor.request_stop()
        thread.join(timeout=5)

    assert not thread.is_alive()
    assert watchers.closed
    changes = events(caplog, "push.users_changed")
    assert changes[0].added == [owner.pk]
    assert changes[-1].removed == [owner.pk]
    beat = heartbeat_get(component="push")
    assert beat is not None
    assert beat.info["pid"] == str(os.getpid())


def test_push_runs_a_bounded_number_of_iterations() -> None:
    supervisor = PushSupervisor(interval=0.01)

    supervisor.run(max_iterations=3)

    assert supervisor.iterations == 3
    assert heartbeat_get(component="push") is not None


class FailingWatchers(RecordingWatchers):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def users_changed(self, *, added: frozenset[int], removed: frozenset[int]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("IMAP server said no")
        super().users_changed(added=added, removed=removed)


def test_a_failing_watcher_pool_is_retried_rather_than_ending_the_process(caplog: pytest.LogCaptureFixture) -> None:
    watchers = FailingWatchers()
    supervisor = PushSupervisor(watchers=watchers, interval=0.01, backoff_initial=0.01)
    presence_touch(user_id=7, conn_id="x", state="active")

    supervisor.run(max_iterations=4)

    assert events(caplog, "push.watchers_failed")
    assert watchers.watched == {7}


# ---------------------------------------------------------------- Redis going away
@pytest.fixture
def private_redis(tmp_path: Path, closed_port: int) -> Iterator[dict[str, Any]]:
    """A Redis server of our own that the test can stop and start again on the same port."""
    binary = shutil.which("redis-server") or ""
    if not binary:
        missing_service("redis-server not installed")
    server: dict[str, Any] = {"url": f"redis://127.0.0.1:{closed_port}/0", "process": None}

    def start() -> None:
        server["process"] = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(closed_port), "--save", "", "--appendonly", "no"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
        )

    def stop() -> None:
        process = server["process"]
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    server["start"], server["stop"] = start, stop
    start()
    with override_settings(REDIS_URL=server["url"]):
        get_redis.cache_clear()  # the process-wide client must follow the setting
        wait_until(_answers, what="the private Redis to start")
        try:
            yield server
        finally:
            stop()
    get_redis.cache_clear()


def _answers() -> bool:
    try:
        return bool(get_redis().ping())
    except Exception:
        return False


def test_push_survives_redis_going_away_and_carries_on_when_it_returns(
    private_redis: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="apps.core.push")
    supervisor = PushSupervisor(interval=0.02, backoff_initial=0.05, backoff_max=0.2)
    thread = run_in_thread(supervisor, max_iterations=100_000)
    try:
        wait_until(lambda: heartbeat_get(component="push") is not None, what="the first heartbeat")

        private_redis["stop"]()
        wait_until(lambda: len(events(caplog, "push.redis_down")) >= 2, what="the loop to report Redis down")
        assert thread.is_alive()
        waits = [record.retry_in for record in events(caplog, "push.redis_down")]
        assert waits[1] > waits[0]  # it backs off instead of hammering

        private_redis["start"]()  # an empty Redis: the heartbeat must be written anew
        wait_until(lambda: events(caplog, "push.redis_back"), what="the loop to notice Redis is back")
        wait_until(lambda: _answers() and heartbeat_get(component="push") is not None, what="a new heartbeat")
    finally:
        supervisor.request_stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


# ---------------------------------------------------------------- the command, as a process
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_push_command_stops_cleanly_on_a_signal_with_json_logs(signum: int, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "groupware.settings",
        "RUCHE_ENV": "test",
        "RUCHE_DATA_DIR": str(tmp_path),
        "REDIS_URL": settings.REDIS_URL,
        "RUCHE_REDIS_PREFIX": settings.RUCHE_REDIS_PREFIX,
        "RUCHE_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "push", "--interval", "0.1"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: (beat := heartbeat_get(component="push")) is not None and beat.info["pid"] == str(process.pid),
            timeout=30,
            what="the push process's heartbeat",
        )
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert [line["event"] for line in lines if line.get("logger") == "apps.core.push"][-1] == "push.stopped"
    assert all(line["level"] in ("debug", "info", "warning") for line in lines)
