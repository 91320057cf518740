"""IMAP IDLE watchers for the push process: one thread per mail account of a user with a tab open.

When the server reports a change on the Inbox (a new message, an expunge, a flag changed by
another client), the watcher leaves IDLE, syncs that folder at once (the sync publishes the
events browsers listen to) and goes back to IDLE. Other folders and other users follow the
periodic sync sweep. A watcher that loses its connection retries with a growing delay.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections, connection

from apps.mail.imap import ImapConnection, ImapError, ImapLoginError, ImapSettings
from apps.mail.models import Folder, MailAccount

log = logging.getLogger(__name__)

# RFC 2177: re-issue IDLE before 29 minutes, servers may drop idle clients after 30.
IDLE_RENEW_SECONDS = 25 * 60
CHECK_SECONDS = 1.0  # how often a watcher looks at its stop flag while idling


class AccountWatcher(threading.Thread):
    def __init__(self, account_id: int) -> None:
        super().__init__(name=f"idle-{account_id}", daemon=True)
        self.account_id = account_id
        self.stop_event = threading.Event()
        self.changes_seen = 0  # for tests and logs

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        backoff = 1.0
        try:
            while not self.stop_event.is_set():
                try:
                    self._watch()
                    backoff = 1.0
                except ImapLoginError as exc:
                    # The sync engine pauses the account on a refused login; do not hammer the server.
                    log.warning("push: %s", exc, extra={"event": "push.idle_login_refused", "account": self.account_id})
                    return
                except Exception as exc:
                    log.warning(
                        "push: watcher of account %s stopped (%s); retrying in %.0f s",
                        self.account_id,
                        exc,
                        backoff,
                        extra={"event": "push.idle_retry", "account": self.account_id},
                        exc_info=not isinstance(exc, ImapError | MailAccount.DoesNotExist | Folder.DoesNotExist),
                    )
                    self.stop_event.wait(backoff)
                    backoff = min(backoff * 2, 60.0)
        finally:
            connection.close()

    def _watch(self) -> None:
        close_old_connections()
        account = MailAccount.objects.get(pk=self.account_id)
        inbox = Folder.objects.filter(account=account, role="inbox").first()
        if inbox is None:
            self.stop_event.wait(30)  # not synced yet: the first sync creates the folder
            return
        with ImapConnection(ImapSettings.for_account(account)) as imap:
            # IDLE reports what changes after this session's SELECT. Selected first, then caught up
            # (cheap with CONDSTORE when nothing changed): a change made while the catch-up runs is
            # in the sync or reported when IDLE starts. Caught up first, a change made between
            # the sync's read and the SELECT was in neither, until the next change.
            imap.select(inbox.name, readonly=True)
            self._sync(inbox.pk)
            imap.idle_start(inbox.name)
            log.info(
                "push: watching %s of account %s",
                inbox.name,
                account.pk,
                extra={"event": "push.idle_started", "account": account.pk},
            )
            started = time.monotonic()
            while not self.stop_event.is_set():
                events = imap.idle_check(timeout=CHECK_SECONDS)
                renew = time.monotonic() - started > IDLE_RENEW_SECONDS
                if not events and not renew:
                    continue
                events += imap.idle_done()
                log.debug("push: account %s: %s", self.account_id, events)
                if events:
                    self.changes_seen += 1
                    self._sync(inbox.pk)
                imap.idle_start(inbox.name)
                started = time.monotonic()
            imap.idle_done()

    def _sync(self, folder_id: int) -> None:
        from apps.mail.sync import folder_sync

        close_old_connections()
        try:
            folder_sync(folder_id=folder_id)
        finally:
            # Between syncs the watcher waits in IDLE for minutes: it holds no database connection
            # meanwhile (one per watched account would add up).
            connection.close()


class ImapIdleWatchers:
    """The push process's watcher pool (apps.core.push.WatcherPool)."""

    def __init__(self) -> None:
        self.watchers: dict[int, AccountWatcher] = {}
        self._owners: dict[int, int] = {}  # account id → user id

    def users_changed(self, *, added: frozenset[int], removed: frozenset[int]) -> None:
        for account_id, owner_id in list(self._owners.items()):
            if owner_id in removed:
                self._stop(account_id)
        if added:
            close_old_connections()
            for account in MailAccount.objects.filter(owner_id__in=added).only("id", "owner_id"):
                if account.pk not in self.watchers:
                    watcher = AccountWatcher(account.pk)
                    self.watchers[account.pk] = watcher
                    self._owners[account.pk] = account.owner_id
                    watcher.start()

    def _stop(self, account_id: int) -> None:
        watcher = self.watchers.pop(account_id, None)
        self._owners.pop(account_id, None)
        if watcher is not None:
            watcher.stop()

    def close(self) -> None:
        for account_id in list(self.watchers):
            watcher = self.watchers[account_id]
            self._stop(account_id)
            watcher.join(timeout=CHECK_SECONDS * 3)
        connection.close()  # the calling thread's, opened by users_changed
