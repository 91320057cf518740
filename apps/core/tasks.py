from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.signals import before_task_publish

from apps.core import heartbeats


@shared_task(name=heartbeats.HEARTBEAT_TASK, bind=True, ignore_result=True, time_limit=30, soft_time_limit=20)
def heartbeat(self: Task[Any, None]) -> None:
    """Sent by beat every 15 s; running it proves a worker consumes the queue."""
    sent_at = self.request.get(heartbeats.SENT_AT_HEADER)
    heartbeats.heartbeat_worker_ran(
        sent_at=float(sent_at) if sent_at is not None else None, hostname=self.request.hostname
    )


@before_task_publish.connect
def stamp_heartbeat(*, headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    # Connected wherever Celery loads the task modules, beat included.
    if headers is not None:
        heartbeats.heartbeat_stamp_message(headers=headers)
