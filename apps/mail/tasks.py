"""Celery tasks of the mail sync (queue "sync"): thin, idempotent wrappers around apps.mail.sync
and apps.mail.indexer (the bodies' search index).

A broker may deliver a task twice and a worker may die mid-task: the sync service is
idempotent and resumable, and a Redis lock keeps two workers off the same account.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.core.redis import get_redis, key
from apps.mail.imap import ImapError
from apps.mail.indexer import BodiesIndexBusy, bodies_index
from apps.mail.models import Folder, MailAccount, Message
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
        result = account_sync(account_id=account_id)
        if result.added:
            index_bodies_enqueue(account_id)
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
        result = folder_sync(folder_id=folder_id)
        if result.added:
            index_bodies_enqueue(Folder.objects.values_list("account_id", flat=True).get(pk=folder_id))
    except Folder.DoesNotExist:
        return
    except SyncBusy as exc:
        # The running sync may already be past this folder: try again shortly.
        raise self.retry(countdown=5) from exc
    except ImapError as exc:
        log.info("sync of mail folder %s failed: %s", folder_id, exc)


@shared_task(name="mail.sync_sweep", queue=SYNC_QUEUE, ignore_result=True, time_limit=60, soft_time_limit=50)
def sync_sweep() -> int:
    """Enqueues the accounts not synced for RUCHE_MAIL_SYNC_INTERVAL, and the body indexing still
    to do (a task lost with its worker is queued again); returns how many syncs were queued."""
    queued = sync_sweep_accounts()
    index_bodies_sweep_accounts()
    return queued


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


# ---------------------------------------------------------------- the bodies' search index
# On the "sync" queue: like the sync it waits on IMAP, and the workers of that queue are sized
# for it; on "default" a backlog of 100k bodies would delay the short interactive tasks. Each
# run is bounded (indexer.DEFAULT_LIMIT messages) and queues its continuation at the back, so
# syncs of other accounts get their turn in between.
INDEX_QUEUED_TTL = 10 * 60  # a queued run lost with its worker is queued again after this


def _index_queued_key(account_id: int) -> str:
    return key("mail", "bodies-queued", account_id)


def index_bodies_enqueue(account_id: int, *, countdown: int = 0) -> bool:
    """Queues an indexing run of the account unless one is already queued; True when queued."""
    if not get_redis().set(_index_queued_key(account_id), "1", nx=True, ex=INDEX_QUEUED_TTL):
        return False
    index_bodies.apply_async((account_id,), countdown=countdown)
    return True


@shared_task(name="mail.index_bodies", queue=SYNC_QUEUE, ignore_result=True, time_limit=10 * 60, soft_time_limit=8 * 60)
def index_bodies(account_id: int) -> None:
    """Indexes a bounded batch of the account's bodies, then queues the rest."""
    get_redis().delete(_index_queued_key(account_id))  # from here on, new mail may queue another run
    try:
        result = bodies_index(account_id=account_id)
    except (MailAccount.DoesNotExist, BodiesIndexBusy):
        return
    except ImapError as exc:
        log.info("indexing the bodies of mail account %s failed: %s", account_id, exc)
        return  # the sweep tries again
    if result.remaining and (result.indexed or result.gone):
        index_bodies_enqueue(account_id)


def index_bodies_sweep_accounts() -> int:
    """Queues indexing for the accounts (not paused) with bodies still to index; returns how many."""
    waiting = Message.objects.filter(account_id=OuterRef("pk"), body_indexed=False)
    candidates = (
        MailAccount.objects.filter(sync_paused=False)
        .filter(Exists(waiting))
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return sum(index_bodies_enqueue(account_id) for account_id in candidates)


# ---------------------------------------------------------------- snooze (apps.mail.snooze)
@shared_task(
    name="mail.snooze_wake",
    bind=True,
    ignore_result=True,
    max_retries=5,
    time_limit=2 * 60,
    soft_time_limit=100,
)
def snooze_wake_task(self: Task[Any, None], snooze_id: int) -> None:
    """Brings one snoozed message back at its time (queued with an ETA); the sweep covers a lost task."""
    from apps.mail.snooze import snooze_wake

    try:
        snooze_wake(snooze_id=snooze_id)
    except ImapError as exc:
        raise self.retry(countdown=60) from exc


@shared_task(name="mail.snooze_sweep", ignore_result=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def snooze_sweep() -> int:
    """Wakes the snoozes whose time has passed (beat, every minute); returns how many woke."""
    from apps.mail.snooze import snoozes_wake_due

    return snoozes_wake_due()


# ---------------------------------------------------------------- sending (apps.mail.outbox)
@shared_task(name="mail.outbox_send", ignore_result=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def outbox_send_task(outbox_id: int) -> None:
    """Sends one held message at its time (queued with an ETA, queue "default"); idempotent:
    the outbox state is taken under select_for_update, a second delivery finds it sent."""
    from apps.mail.outbox import outbox_deliver

    outbox_deliver(outbox_id=outbox_id)


@shared_task(name="mail.outbox_sweep", ignore_result=True, time_limit=10 * 60, soft_time_limit=9 * 60)
def outbox_sweep() -> int:
    """Sends the held messages whose time has passed and that no task sent (beat, every 30 s)."""
    from apps.mail.outbox import outboxes_send_due

    return outboxes_send_due()
