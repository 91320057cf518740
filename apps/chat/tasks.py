from __future__ import annotations

from celery import shared_task

from apps.chat import presence


@shared_task(name="chat.presence_sweep", ignore_result=True, time_limit=30, soft_time_limit=20)
def presence_sweep() -> int:
    return presence.presence_sweep()
