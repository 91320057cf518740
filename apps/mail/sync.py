"""The sync engine: keeps the database index of an account in step with its IMAP server.

The server is the truth; rows here are a fast index of it. One account is synced by one worker
at a time (a Redis lock). For each account: INBOX is examined, then the folder tree (SPECIAL-USE
roles, renames kept by UIDVALIDITY, deletions; LIST-STATUS tells the state of the other folders
in the same answer), then each folder:

1. EXAMINE (INBOX's is the one made before the LIST, still selected); a changed UIDVALIDITY voids
   every UID: the folder's rows are dropped and rebuilt. Nothing changed (same UIDNEXT,
   HIGHESTMODSEQ, EXISTS) → done after one round trip, or none when LIST-STATUS told.
2. The indexed window [backfill_below, uidnext-1]: flag changes by CONDSTORE `CHANGEDSINCE`
   (a flags diff without it), expunges by QRESYNC `VANISHED` and a count check against
   `UID SEARCH ALL` (a UID diff when the counts differ).
3. New messages above the window, newest first.
4. Backfill below the window, newest first: the first batch (~500) makes the first screen
   usable, later batches are larger. An account sync first takes one batch of every folder
   (Inbox, Sent, the rest), then fills them in.

Resumable and idempotent: each batch is one transaction (rows, threads, the folder's progress
fields), so a worker killed or a connection dropped mid-FETCH leaves the index at the last
committed batch; UIDs already indexed are never inserted twice.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.redis import get_redis, held_lock, key
from apps.mail import events
from apps.mail.imap import (
    FolderState,
    ImapConnection,
    ImapError,
    ImapFolderError,
    ImapLoginError,
    ImapSettings,
)
from apps.mail.models import Folder, MailAccount, Message, SyncStatus
from apps.mail.sync_rows import IndexEntry, _entry_from, _flag_fields, _hashable, entries_insert
from apps.mail.sync_tree import folder_rows_lock, folders_sync
from apps.mail.sync_tuning import relaxed_commit, statistics_refresh
from apps.mail.threading import thread_ids_of, threads_refresh

log = logging.getLogger(__name__)

FIRST_BATCH = 500  # the newest messages of a folder: the first screen
BATCH = 2000  # later batches: fewer round trips and transactions
LOCK_TTL = 300  # seconds; renewed after each batch, so a killed worker frees the account soon
UID_CHUNK = 900

ProgressCallback = Callable[[Folder, int, int], None]


class SyncBusy(Exception):  # noqa: N818 - a state, not a failure
    """Another worker is syncing this account right now."""


@dataclass
class FolderResult:
    folder_id: int
    added: int = 0
    changed: int = 0
    removed: int = 0


@dataclass
class SyncResult:
    account_id: int
    folders: list[FolderResult] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False

    @property
    def added(self) -> int:
        return sum(folder.added for folder in self.folders)


# ---------------------------------------------------------------- entry points
def account_sync(*, account_id: int, progress: ProgressCallback | None = None, force: bool = False) -> SyncResult:
    """Syncs the folder tree and every folder of an account. Raises SyncBusy or ImapError.

    A paused account (the server refused its password) is skipped unless `force`; errors are
    recorded on the account (status, last_error) before they are raised.
    """
    account = MailAccount.objects.get(pk=account_id)
    if account.sync_paused and not force:
        return SyncResult(account_id=account_id, skipped=True)
    started = time.monotonic()
    result = SyncResult(account_id=account_id)
    with (
        account_sync_lock(account_id) as keepalive,
        _recording_errors(account),
        ImapConnection(ImapSettings.for_account(account)) as imap,
    ):
        imap.enable_sync_extensions()
        examined = _inbox_examined(imap)
        listed: dict[str, FolderState] = {}
        folders = folders_sync(account=account, imap=imap, statuses=listed)
        if examined is not None:
            listed[examined.name] = examined  # the EXAMINE's own answer, not the LIST-STATUS line of it
        work = _Work(
            account=account, imap=imap, progress=progress, keepalive=keepalive, listed=listed, examined=examined
        )
        results: dict[int, FolderResult] = {}
        # First pass: the newest batch of every folder, so each one shows something at once.
        for folder in folders:
            results[folder.pk] = work.folder(folder, backfill_batches=1)
        for folder in folders:
            if not folder.backfill_done:
                more = work.folder(folder, backfill_batches=None)
                _merge(results[folder.pk], more)
        work.stamp_untouched()
        result.folders = list(results.values())
    statistics_refresh(added={r.folder_id: r.added for r in result.folders})
    _account_succeeded(account, quiet=not work.worked)
    result.seconds = time.monotonic() - started
    return result


def folder_sync(*, folder_id: int, progress: ProgressCallback | None = None) -> FolderResult:
    """Syncs one folder (the push process calls it when IDLE reports a change). Raises SyncBusy or ImapError."""
    folder = Folder.objects.select_related("account").get(pk=folder_id)
    account = folder.account
    if account.sync_paused:
        return FolderResult(folder_id=folder_id)
    with (
        account_sync_lock(account.pk) as keepalive,
        _recording_errors(account),
        ImapConnection(ImapSettings.for_account(account)) as imap,
    ):
        imap.enable_sync_extensions()
        work = _Work(account=account, imap=imap, progress=progress, keepalive=keepalive)
        result = work.folder(folder, backfill_batches=None)
        work.stamp_untouched()
    _account_succeeded(account, quiet=not work.worked)
    return result


def folders_resync(*, folder_ids: Sequence[int]) -> list[FolderResult]:
    """Syncs several folders of one account over one connection, under one lock (after an action
    touched them: a move's source and target, a send's Sent and Drafts). Raises SyncBusy or ImapError."""
    folders = list(Folder.objects.select_related("account").filter(pk__in=folder_ids).order_by("pk"))
    if not folders:
        return []
    account = folders[0].account
    if any(folder.account_id != account.pk for folder in folders):
        raise ValueError("folders_resync takes the folders of one account")
    if account.sync_paused:
        return [FolderResult(folder_id=folder.pk) for folder in folders]
    with (
        account_sync_lock(account.pk) as keepalive,
        _recording_errors(account),
        ImapConnection(ImapSettings.for_account(account)) as imap,
    ):
        imap.enable_sync_extensions()
        work = _Work(account=account, imap=imap, progress=None, keepalive=keepalive)
        results = [work.folder(folder, backfill_batches=None) for folder in folders]
        work.stamp_untouched()
    _account_succeeded(account, quiet=not work.worked)
    return results


@contextmanager
def account_sync_lock(account_id: int) -> Iterator[Callable[[], None]]:
    """Holds the account's sync lock (Redis, with expiry); yields a function that renews it."""
    with held_lock(
        key("mail", "sync", account_id), ttl=LOCK_TTL, busy=SyncBusy, what=f"the sync of account {account_id}"
    ) as keepalive:
        yield keepalive


def account_is_syncing(account_id: int) -> bool:
    return bool(get_redis().exists(key("mail", "sync", account_id)))


def _inbox_examined(imap: ImapConnection) -> FolderState | None:
    """EXAMINEs INBOX before the account's LIST, and leaves it selected for its sync.

    Dovecot (maildir, with its default mailbox list index) reads a mailbox's whole dovecot-uidlist
    to learn its GUID whenever the mailbox is opened after the list index was loaded in the
    session: the LIST-STATUS line of INBOX (Dovecot opens INBOX for it) cost ~60 ms at 100k
    messages, three quarters of a no-change sync, and an EXAMINE after it as much again. Opened
    before the LIST, INBOX costs ~1-2 ms and its LIST-STATUS line is read from the open mailbox.
    On any server this adds one round trip when INBOX is unchanged (LIST-STATUS alone would have
    told), none when it changed (the folder loop uses this selection: _Work._still_examined).
    """
    try:
        return imap.select("INBOX", readonly=True)
    except ImapFolderError:
        return None  # the folder loop selects it again, or the tree sync tells it is gone


@contextmanager
def _recording_errors(account: MailAccount) -> Iterator[None]:
    try:
        yield
    except ImapLoginError:
        error = _(
            "The mail server refused the password for %(username)s. Sync is paused until you enter "
            "the current password in the account settings."
        ) % {"username": account.imap_username}
        _account_failed(account, error=error, paused=True)
        raise
    except ImapError as exc:
        _account_failed(account, error=str(exc), paused=False)
        raise


def _account_failed(account: MailAccount, *, error: str, paused: bool) -> None:
    MailAccount.objects.filter(pk=account.pk).update(
        sync_status=SyncStatus.ERROR, last_error=error, sync_paused=paused, updated_at=timezone.now()
    )
    events.publish_sync(
        owner_id=account.owner_id, account_id=account.pk, state="paused" if paused else "error", error=error
    )


def _account_succeeded(account: MailAccount, *, quiet: bool) -> None:
    MailAccount.objects.filter(pk=account.pk).update(
        sync_status=SyncStatus.OK, last_error="", last_synced_at=timezone.now()
    )
    # A sync that found nothing to do, after a good one, has nothing to tell the open pages
    # (two events cost a no-change sync a fifth of its time).
    if not (quiet and account.sync_status == SyncStatus.OK):
        events.publish_sync(owner_id=account.owner_id, account_id=account.pk, state="done")


def _merge(into: FolderResult, more: FolderResult) -> None:
    into.added += more.added
    into.changed += more.changed
    into.removed += more.removed


# ---------------------------------------------------------------- one folder
@dataclass
class _Work:
    account: MailAccount
    imap: ImapConnection
    progress: ProgressCallback | None
    keepalive: Callable[[], None]
    untouched: list[int] = field(default_factory=list)
    worked: bool = False  # some folder had something to fetch, apply or rebuild
    listed: dict[str, FolderState] = field(default_factory=dict)  # LIST-STATUS, by folder name
    examined: FolderState | None = None  # INBOX, examined before the LIST (_inbox_examined)
    # Rows of each folder for the progress events: counted at its first batch, then added up (a
    # count per batch cost ~4 % of a 100k sync); forgotten when rows are deleted.
    indexed: dict[int, int] = field(default_factory=dict)

    def stamp_untouched(self) -> None:
        if self.untouched:
            Folder.objects.filter(pk__in=self.untouched).update(last_synced_at=timezone.now())
            self.untouched.clear()

    def folder(self, folder: Folder, *, backfill_batches: int | None) -> FolderResult:
        result = FolderResult(folder_id=folder.pk)
        listed = self.listed.pop(folder.name, None)  # true of the first pass only
        if listed is not None and _unchanged(folder, listed):
            self.untouched.append(folder.pk)  # LIST-STATUS (INBOX: the EXAMINE before it) told: no SELECT needed
            return result
        state = self._still_examined(folder)
        if state is None:
            try:
                state = self.imap.select(folder.name, readonly=True)
            except ImapFolderError:
                log.info("folder %s of account %s vanished during the sync", folder.pk, self.account.pk)
                return result  # gone since LIST: the next tree sync drops it
        if folder.uidvalidity is not None and folder.uidvalidity != state.uidvalidity:
            self._reset(folder, result)
        if _unchanged(folder, state):
            self.untouched.append(folder.pk)  # stamped all at once: one write, not one per folder
            return result
        if not self.worked:
            self.worked = True
            events.publish_sync(owner_id=self.account.owner_id, account_id=self.account.pk, state="running")
        server_uids = self.imap.search_uids("ALL")
        counts = {"total": state.exists, "unread": self.imap.count_unseen(folder.name)}
        if folder.backfill_below is not None:
            self._window(folder, state, server_uids, result)
            self._new_on_top(folder, state, server_uids, counts, result)
        self._backfill(folder, state, server_uids, counts, result, batches=backfill_batches)
        folder.total, folder.unread = counts["total"], counts["unread"]
        folder.last_synced_at = timezone.now()
        if folder.backfill_below is not None:
            folder.uidnext = max(folder.uidnext or 0, state.uidnext or 0, (server_uids[-1] + 1) if server_uids else 0)
            folder.highestmodseq = state.highestmodseq
        folder.uidvalidity = state.uidvalidity
        with transaction.atomic():
            folder.save(update_fields=["total", "unread", "last_synced_at", "uidnext", "highestmodseq", "uidvalidity"])
            events.publish_folders(
                owner_id=self.account.owner_id,
                account_id=self.account.pk,
                folders=[{"id": folder.pk, "unread": folder.unread, "total": folder.total}],
            )
        return result

    def _still_examined(self, folder: Folder) -> FolderState | None:
        """The EXAMINE made before the LIST, when it was this folder's and the folder is still selected
        (a second EXAMINE would reopen the mailbox: on Dovecot the ~60 ms that _inbox_examined avoids)."""
        examined, self.examined = self.examined, None
        if examined is not None and examined.name == folder.name and self.imap.is_selected(folder.name):
            return examined
        return None

    # -------------------------------------------------------- rebuild
    def _reset(self, folder: Folder, result: FolderResult) -> None:
        """UIDVALIDITY changed: every indexed UID is void."""
        self.indexed.pop(folder.pk, None)
        with transaction.atomic():
            folder_rows_lock(folder_ids=[folder.pk])
            thread_ids = thread_ids_of(message_filter=Q(folder=folder))
            removed = Message.objects.filter(folder=folder).delete()[0]
            threads_refresh(thread_ids=thread_ids)
            folder.uidvalidity = folder.uidnext = folder.highestmodseq = folder.backfill_below = None
            folder.backfill_done = False
            folder.save(update_fields=["uidvalidity", "uidnext", "highestmodseq", "backfill_below", "backfill_done"])
            result.removed += removed
            if removed:
                events.publish_messages(
                    owner_id=self.account.owner_id,
                    account_id=self.account.pk,
                    folder_id=folder.pk,
                    reload=True,
                )

    # -------------------------------------------------------- indexed window
    def _window(self, folder: Folder, state: FolderState, server_uids: list[int], result: FolderResult) -> None:
        """Flags and expunges of the messages already indexed."""
        low, high = folder.backfill_below or 0, (folder.uidnext or 1) - 1
        if high < low:
            return
        uid_range = f"{low}:{high}"
        vanished: list[tuple[int, int]] = []
        if self.imap.condstore and folder.highestmodseq is not None and state.highestmodseq is not None:
            if state.highestmodseq == folder.highestmodseq:
                flags: dict[int, tuple[str, ...]] = {}
            else:
                changes = self.imap.fetch_changes(folder.name, uid_range, since_modseq=folder.highestmodseq)
                flags, vanished = changes.flags, changes.vanished
        else:
            flags = self.imap.fetch_flags(folder.name, uid_range)
        self._apply_flags(folder, flags, result)
        if vanished:
            ranges = [(max(a, low), min(b, high)) for a, b in vanished if b >= low and a <= high]
            self._delete(folder, ranges, result)
        in_window = server_uids[bisect.bisect_left(server_uids, low) : bisect.bisect_right(server_uids, high)]
        indexed = Message.objects.filter(folder=folder, uid__range=(low, high))
        if indexed.count() != len(in_window):
            present = set(in_window)
            missing = [uid for uid in indexed.values_list("uid", flat=True) if uid not in present]
            self._delete(folder, [(uid, uid) for uid in missing], result)

    def _apply_flags(self, folder: Folder, flags: dict[int, tuple[str, ...]], result: FolderResult) -> None:
        if not flags:
            return
        wanted = {uid: _flag_fields(values) for uid, values in flags.items()}
        updates: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        changed_ids: list[int] = []
        thread_ids: set[int] = set()
        uids = sorted(wanted)
        fields = ("seen", "flagged", "answered", "draft", "deleted", "keywords")
        for start in range(0, len(uids), UID_CHUNK):
            rows = Message.objects.filter(folder=folder, uid__in=uids[start : start + UID_CHUNK]).values_list(
                "id", "uid", "thread_id", *fields
            )
            for message_id, uid, thread_id, *current in rows:
                target = wanted[uid]
                if tuple(current) != target:
                    updates[_hashable(target)].append(message_id)
                    changed_ids.append(message_id)
                    if thread_id:
                        thread_ids.add(thread_id)
        if not updates:
            return
        with transaction.atomic():
            for target, ids in updates.items():
                values = dict(zip(fields, target, strict=True))
                values["keywords"] = list(values["keywords"])
                for start in range(0, len(ids), UID_CHUNK):
                    Message.objects.filter(pk__in=ids[start : start + UID_CHUNK]).update(**values)
            threads_refresh(thread_ids=thread_ids)
            events.publish_messages(
                owner_id=self.account.owner_id, account_id=self.account.pk, folder_id=folder.pk, changed=changed_ids
            )
        result.changed += len(changed_ids)

    def _delete(self, folder: Folder, ranges: Sequence[tuple[int, int]], result: FolderResult) -> None:
        if not ranges:
            return
        self.indexed.pop(folder.pk, None)
        with transaction.atomic():
            folder_rows_lock(folder_ids=[folder.pk])
            for start in range(0, len(ranges), 200):
                condition = Q()
                for low, high in ranges[start : start + 200]:
                    condition |= Q(uid=low) if low == high else Q(uid__range=(low, high))
                doomed = Message.objects.filter(condition, folder=folder)
                rows = list(doomed.values_list("id", "thread_id"))
                if not rows:
                    continue
                Message.objects.filter(pk__in=[row[0] for row in rows]).delete()
                threads_refresh(thread_ids={row[1] for row in rows if row[1]})
                result.removed += len(rows)
                events.publish_messages(
                    owner_id=self.account.owner_id,
                    account_id=self.account.pk,
                    folder_id=folder.pk,
                    removed=[row[0] for row in rows],
                )

    # -------------------------------------------------------- new messages
    def _new_on_top(
        self,
        folder: Folder,
        state: FolderState,
        server_uids: list[int],
        counts: dict[str, int],
        result: FolderResult,
    ) -> None:
        high = (folder.uidnext or 1) - 1
        new = server_uids[bisect.bisect_right(server_uids, high) :]
        if not new:
            return
        # Newest first; `uidnext` moves only when all of them are in, so an interrupted run
        # fetches the rest next time (UIDs already indexed are skipped, never inserted twice).
        batches = [new[max(0, end - BATCH) : end] for end in range(len(new), 0, -BATCH)]
        plan: list[tuple[list[int], dict[str, Any]]] = []
        for number, batch in enumerate(batches, start=1):
            updates: dict[str, Any] = dict(counts)
            if number == len(batches):
                updates["uidnext"] = max(state.uidnext or 0, new[-1] + 1)
            plan.append((batch, updates))
        self._insert_all(folder, plan, result, total=state.exists)

    def _backfill(
        self,
        folder: Folder,
        state: FolderState,
        server_uids: list[int],
        counts: dict[str, int],
        result: FolderResult,
        *,
        batches: int | None,
    ) -> None:
        if folder.backfill_below is None:
            pending = server_uids  # nothing indexed yet: everything, newest first
        elif folder.backfill_done:
            return
        else:
            pending = server_uids[: bisect.bisect_left(server_uids, folder.backfill_below)]
        plan: list[tuple[list[int], dict[str, Any]]] = []
        first = folder.backfill_below is None
        while pending and (batches is None or len(plan) < batches):
            size = FIRST_BATCH if first else BATCH
            batch, pending = pending[-size:], pending[:-size]
            updates: dict[str, Any] = {**counts, "backfill_below": batch[0], "backfill_done": not pending}
            if first:
                updates.update(
                    uidvalidity=state.uidvalidity,
                    uidnext=max(state.uidnext or 0, server_uids[-1] + 1),
                    highestmodseq=state.highestmodseq,
                )
            plan.append((batch, updates))
            first = False
        self._insert_all(folder, plan, result, total=state.exists)
        if not pending and not folder.backfill_done:
            values: dict[str, Any] = {"backfill_done": True}
            if folder.backfill_below is None:  # an empty folder: the window starts at UIDNEXT
                values.update(uidvalidity=state.uidvalidity, uidnext=state.uidnext, highestmodseq=state.highestmodseq)
            Folder.objects.filter(pk=folder.pk).update(**values)
            for name, value in values.items():
                setattr(folder, name, value)

    def _insert_all(
        self, folder: Folder, plan: list[tuple[list[int], dict[str, Any]]], result: FolderResult, *, total: int
    ) -> None:
        """Fetches and commits batches in order, fetching the next batch while the current one is written.

        The IMAP connection is used by the fetching thread only while this thread works on the
        database; leaving (even by an exception) waits for the fetch in flight, so the
        connection is never left mid-command.
        """
        if not plan:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imap-fetch") as pool:
            pending: Future[list[IndexEntry]] | None = pool.submit(self._fetch_batch, folder, plan[0][0])
            try:
                for index, (uids, updates) in enumerate(plan):
                    assert pending is not None
                    fetched = pending.result()
                    pending = None
                    if index + 1 < len(plan):
                        pending = pool.submit(self._fetch_batch, folder, plan[index + 1][0])
                    self._commit(folder, uids, fetched, updates, result, total=total)
            finally:
                if pending is not None:
                    wait([pending])

    def _fetch_batch(self, folder: Folder, uids: list[int]) -> list[IndexEntry]:
        """The batch's index rows, made in the fetching thread while the previous batch is written."""
        fetched, now = self.imap.fetch_headers(folder.name, f"{uids[0]}:{uids[-1]}"), timezone.now()
        return [_entry_from(self.account.pk, folder.pk, item, now) for item in fetched]

    def _commit(
        self,
        folder: Folder,
        uids: list[int],
        fetched: list[IndexEntry],
        updates: dict[str, Any],
        result: FolderResult,
        *,
        total: int,
    ) -> None:
        """Commits one fetched batch with the folder's progress, in one transaction."""
        low, high = uids[0], uids[-1]
        with transaction.atomic():
            relaxed_commit()
            folder_rows_lock(folder_ids=[folder.pk])
            indexed = Message.objects.filter(folder=folder, uid__range=(low, high))
            existing = set(indexed.values_list("uid", flat=True))
            entries: dict[int, IndexEntry] = {}
            for entry in fetched:
                if entry.uid not in existing and low <= entry.uid <= high:
                    entries[entry.uid] = entry
            messages = list(entries.values())
            entries_insert(account_id=self.account.pk, entries=messages)
            Folder.objects.filter(pk=folder.pk).update(**updates)
            for name, value in updates.items():
                setattr(folder, name, value)
            added = [pk for pk, uid in indexed.values_list("id", "uid") if uid in entries]
            events.publish_messages(
                owner_id=self.account.owner_id, account_id=self.account.pk, folder_id=folder.pk, added=added
            )
        result.added += len(messages)
        self.keepalive()
        if folder.pk in self.indexed:
            self.indexed[folder.pk] += len(messages)
        else:
            self.indexed[folder.pk] = Message.objects.filter(folder=folder).count()
        done = self.indexed[folder.pk]
        events.publish_sync(
            owner_id=self.account.owner_id,
            account_id=self.account.pk,
            state="running",
            done=done,
            total=total,
            folder_id=folder.pk,
        )
        if self.progress is not None:
            self.progress(folder, done, total)


def _unchanged(folder: Folder, state: FolderState) -> bool:
    return (
        folder.backfill_done
        and folder.uidvalidity == state.uidvalidity
        and folder.uidnext == state.uidnext
        and state.highestmodseq is not None
        and folder.highestmodseq == state.highestmodseq
        and folder.total == state.exists
    )
