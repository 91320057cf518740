from __future__ import annotations

from celery import shared_task


@shared_task(name="core.heartbeat", ignore_result=True, time_limit=30)
def heartbeat(sent_at: float | None = None) -> None:
    """Placeholder until the operations work records worker and beat heartbeats."""
