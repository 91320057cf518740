"""The push process's IDLE watchers against a real Dovecot: a change on the server reaches the index."""

from __future__ import annotations

import smtplib
import time
from typing import Any

import pytest

from apps.mail.imap import ImapConnection, ImapSettings
from apps.mail.models import Message
from apps.mail.push import ImapIdleWatchers
from tests.mail.mailboxes import account_for, deliver, email_message, sync

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(condition: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_idle_reports_a_message_appended_by_another_client(owner: Any, mail_user: Any, mailstack: Any) -> None:
    account = account_for(owner, mail_user, mailstack)
    with ImapConnection(ImapSettings.for_account(account)) as imap:
        imap.idle_start("INBOX")
        deliver(mailstack, mail_user, email_message("Ping"))
        events: list[Any] = []
        deadline = time.monotonic() + 5
        while not events and time.monotonic() < deadline:
            events = imap.idle_check(timeout=0.5)
        imap.idle_done()
    assert [e.kind for e in events] == ["exists"]


def test_watcher_indexes_mail_delivered_by_postfix(owner: Any, mail_user: Any, mailstack: Any) -> None:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Before"))
    sync(account)
    watchers = ImapIdleWatchers()
    watchers.users_changed(added=frozenset({owner.pk}), removed=frozenset())
    try:
        watcher = watchers.watchers[account.pk]
        time.sleep(1)  # the watcher logs in and enters IDLE
        message = email_message("Delivered while idling", to=mail_user.address)
        with smtplib.SMTP(mailstack.host, mailstack.ports.smtp, timeout=10) as smtp:
            smtp.send_message(message)
        assert wait_for(lambda: Message.objects.filter(account=account, subject="Delivered while idling").exists())
        assert watcher.changes_seen >= 1
    finally:
        watchers.close()
    assert watchers.watchers == {}


def test_a_watcher_in_idle_holds_no_database_connection(owner: Any, mail_user: Any, mailstack: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("counts the server's sessions (CI runs the suite on PostgreSQL)")

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return int(cursor.fetchone()[0])

    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Before"))
    sync(account)
    before = sessions()
    watchers = ImapIdleWatchers()
    watchers.users_changed(added=frozenset({owner.pk}), removed=frozenset())
    try:
        time.sleep(1)  # the watcher catches up with a sync, then enters IDLE
        deliver(mailstack, mail_user, email_message("While idling"))  # IDLE sees it: a second sync
        assert wait_for(lambda: Message.objects.filter(account=account, subject="While idling").exists())
        assert wait_for(lambda: watchers.watchers[account.pk].changes_seen >= 1)
        assert wait_for(lambda: sessions() == before, seconds=5)  # back in IDLE: its connection is closed
    finally:
        watchers.close()


def test_a_change_made_while_the_watcher_catches_up_is_not_lost(
    owner: Any, mail_user: Any, mailstack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The watcher selects the Inbox, catches up with a sync, then idles: a flag set by another
    client right after the catch-up read the flags is reported when IDLE starts."""
    from apps.mail import sync as sync_module

    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Flag me"))
    sync(account)
    real_sync = sync_module.folder_sync
    calls: list[dict[str, Any]] = []

    def catch_up_then_another_client_flags(**kwargs: Any) -> Any:
        result = real_sync(**kwargs)
        if not calls:  # the catch-up only
            calls.append(kwargs)
            with mailstack.imap(mail_user) as imap:
                imap.select_folder("INBOX")
                imap.add_flags(imap.search(["SUBJECT", "Flag me"]), [b"\\Flagged"])
        return result

    monkeypatch.setattr(sync_module, "folder_sync", catch_up_then_another_client_flags)
    watchers = ImapIdleWatchers()
    watchers.users_changed(added=frozenset({owner.pk}), removed=frozenset())
    try:
        assert wait_for(lambda: Message.objects.filter(account=account, subject="Flag me", flagged=True).exists())
    finally:
        watchers.close()
