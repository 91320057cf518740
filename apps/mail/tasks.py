"""Celery tasks of the mail sync (queue "sync"): thin, idempotent wrappers around apps.mail.sync.

A broker may deliver a task twice and a worker may die mid-task: the sync service is
idempotent and resumable, and a Redis lock keeps two workers off the same account.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.core.redis import get_redis, key
from apps.mail.imap import ImapError
from apps.mail.models import Folder, MailAccount
from apps.mail.sync import SyncBusy, account_is_syncing, account_sync, folder_sync

log = logging.getLogger(__name__)

SYNC_QUEUE = "sync"
SWEEP_BATCH = 500  # accounts enqueued per sweep at most: a big installation is spread over sweeps


def _queued_key(account_id: int) -> str:
    return key("mail", "sync-queued", account_id)


@shared_task(
    name="mail.sync_account", queue=SYNC_QUEUE, ignore_result=True, time_limit=20 * 60, soft_time_limit=18 * 60
)
def sync_account(account_id: int) -> None:
    """Syncs one account; failures are recorded on the account and retried by the next sweep."""
    try:
        account_sync(account_id=account_id)
    except MailAccount.DoesNotExist:
        return
    except SyncBusy:
        return  # another worker is on it
    except ImapError as exc:
        log.info("sync of mail account %s failed: %s", account_id, exc)
    finally:
        get_redis().delete(_queued_key(account_id))


@shared_task(
    name="mail.sync_folder",
    queue=SYNC_QUEUE,
    bind=True,
    ignore_result=True,
    max_retries=30,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
)
def sync_folder(self: Task[Any, None], folder_id: int) -> None:
    """Syncs one folder (after an IDLE notification); waits its turn if the account is being synced."""
    try:
        folder_sync(folder_id=folder_id)
    except Folder.DoesNotExist:
        return
    except SyncBusy as exc:
        # The running sync may already be past this folder: try again shortly.
        raise self.retry(countdown=5) from exc
    except ImapError as exc:
        log.info("sync of mail folder %s failed: %s", folder_id, exc)


@shared_task(name="mail.sync_sweep", queue=SYNC_QUEUE, ignore_result=True, time_limit=60, soft_time_limit=50)
def sync_sweep() -> int:
    """Enqueues the accounts not synced for RUCHE_MAIL_SYNC_INTERVAL; returns how many."""
    return sync_sweep_accounts()


def sync_sweep_accounts() -> int:
    """The sweep itself: paused accounts are skipped, and each account is queued at most once."""
    interval = int(settings.RUCHE_MAIL_SYNC_INTERVAL)
    due = timezone.now() - timedelta(seconds=interval)
    candidates = (
        MailAccount.objects.filter(sync_paused=False)
        .filter(Q(last_synced_at__isnull=True) | Q(last_synced_at__lt=due))
        .order_by("last_synced_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    redis = get_redis()
    queued = 0
    for account_id in candidates:
        if account_is_syncing(account_id):
            continue
        # The marker expires on its own: a task lost with its worker is queued again next interval.
        if not redis.set(_queued_key(account_id), "1", nx=True, ex=interval):
            continue
        sync_account.delay(account_id)
        queued += 1
    return queued
