"""The heartbeat task, published the way beat publishes it and run by a real Celery worker.

The worker runs in this process (celery.contrib.testing) against the real Redis broker;
the broker keys carry this test worker's Redis prefix, so no other worker sees the queue.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from apps.core import tasks
from apps.core.health import system_status
from apps.core.heartbeats import heartbeat_get
from apps.core.redis import get_redis
from groupware.celery import app
from tests.core.conftest import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_heartbeats", "no_mail_stack_env")]

BEAT_OPTIONS: dict[str, Any] = app.conf.beat_schedule["heartbeat"]["options"]


@pytest.fixture(scope="module", autouse=True)
def _forget_broker_keys() -> Iterator[None]:
    """The broker's queues and bindings live under this worker's prefix: drop them afterwards."""
    yield
    r = get_redis()
    keys = list(r.scan_iter(f"{settings.RUCHE_REDIS_PREFIX}:celery:*", count=500))
    if keys:
        r.delete(*keys)


@pytest.fixture
def celery_worker() -> Iterator[Any]:
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.mark.django_db
def test_a_beat_heartbeat_run_by_a_real_worker_shows_worker_and_beat_alive(celery_worker: Any) -> None:
    tasks.heartbeat.apply_async(**BEAT_OPTIONS)

    wait_until(lambda: heartbeat_get(component="worker") is not None, what="the worker's heartbeat")
    checks = {check.key: check for check in system_status().checks}

    assert checks["worker"].state == "ok"
    assert checks["beat"].state == "ok"
    worker = heartbeat_get(component="worker")
    beat = heartbeat_get(component="beat")
    assert worker is not None
    assert beat is not None
    # The worker ran the message beat stamped: it ran after beat sent it and knows the delay.
    assert worker.at >= beat.at
    assert float(worker.info["queue_delay"]) >= 0
    assert worker.info["pid"] == str(os.getpid())  # the in-process worker, not some other one


def test_the_beat_schedule_sends_the_heartbeat_with_beats_own_mark() -> None:
    entry = app.conf.beat_schedule["heartbeat"]

    assert entry["task"] == tasks.heartbeat.name
    assert entry["options"]["headers"] == {"ruche_origin": "beat"}


def test_a_heartbeat_not_sent_by_beat_does_not_count_as_beat(celery_worker: Any) -> None:
    tasks.heartbeat.delay()

    wait_until(lambda: heartbeat_get(component="worker") is not None, what="the worker's heartbeat")

    assert heartbeat_get(component="beat") is None


@pytest.fixture
def purge_queues() -> Iterator[None]:
    yield
    app.control.purge()  # nobody consumes what the next test published


@pytest.mark.usefixtures("purge_queues")
@pytest.mark.parametrize("name", sorted(app.conf.beat_schedule))
def test_every_scheduled_task_can_be_published_the_way_beat_publishes_it(name: str) -> None:
    # Beat calls apply_async with the entry's options; a task whose own time limit is below
    # the global soft limit (CELERY_TASK_SOFT_TIME_LIMIT) is refused there, every time.
    entry = app.conf.beat_schedule[name]
    task = app.tasks[entry["task"]]
    with app.producer_or_acquire() as producer:
        task.apply_async(entry.get("args", ()), entry.get("kwargs", {}), producer=producer, **entry["options"])
