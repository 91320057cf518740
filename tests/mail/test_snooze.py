"""Snooze against the real Dovecot: the message leaves the Inbox on the server and comes back at its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.mail import snooze as snoozing
from apps.mail.models import Folder, Message, Snooze, SnoozeState
from apps.mail.organise import OrganiseError
from apps.mail.tasks import snooze_sweep
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, indexed, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Later please", Message_ID="<later@example.org>"))
    sync(account)
    return account


def server_messages(mailstack: Any, mail_user: Any, folder: str) -> dict[int, set[bytes]]:
    with mailstack.imap(mail_user) as imap:
        if not imap.folder_exists(folder):
            return {}
        imap.select_folder(folder, readonly=True)
        uids = imap.search("ALL")
        return {uid: set(flags) for uid, flags in imap.get_flags(uids).items()} if uids else {}


def test_snooze_moves_the_message_out_of_the_inbox_on_the_server(mailbox: Any, mailstack: Any, mail_user: Any) -> None:
    message = indexed(mailbox, "Later please")
    wake_at = timezone.now() + timedelta(hours=2)

    snooze = snoozing.message_snooze(message=message, wake_at=wake_at)

    assert server_messages(mailstack, mail_user, "INBOX") == {}
    assert len(server_messages(mailstack, mail_user, "Snoozed")) == 1  # created on demand
    assert snooze.state == SnoozeState.SNOOZED
    assert snooze.message_id_header == "later@example.org"
    assert not inbox_of(mailbox).messages.exists()
    assert Folder.objects.get(account=mailbox, name="Snoozed").messages.get().subject == "Later please"


def test_the_sweep_wakes_an_overdue_snooze_with_no_task_having_run(
    mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    message = indexed(mailbox, "Later please")
    organise_read = Message.objects.filter(pk=message.pk)
    organise_read.update(seen=True)
    snooze = snoozing.message_snooze(message=message, wake_at=timezone.now() + timedelta(hours=1), flag_on_wake=True)
    # The browser is closed and the worker restarted: the ETA task is lost; time passes.
    Snooze.objects.filter(pk=snooze.pk).update(wake_at=timezone.now() - timedelta(minutes=1))

    assert snooze_sweep() == 1

    inbox = server_messages(mailstack, mail_user, "INBOX")
    assert len(inbox) == 1
    flags = next(iter(inbox.values()))
    assert b"\\Seen" not in flags
    assert b"\\Flagged" in flags
    assert server_messages(mailstack, mail_user, "Snoozed") == {}
    back = inbox_of(mailbox).messages.get()
    assert not back.seen
    assert back.flagged
    snooze.refresh_from_db()
    assert snooze.state == SnoozeState.WOKEN


def test_waking_twice_never_moves_twice(mailbox: Any, mailstack: Any, mail_user: Any) -> None:
    snooze = snoozing.message_snooze(
        message=indexed(mailbox, "Later please"), wake_at=timezone.now() + timedelta(hours=1)
    )
    assert snoozing.snooze_wake(snooze_id=snooze.pk) is True
    assert snoozing.snooze_wake(snooze_id=snooze.pk) is False
    # A retry after a crash between the move and the commit: the row says snoozed, the server says back.
    Snooze.objects.filter(pk=snooze.pk).update(state=SnoozeState.SNOOZED)
    assert snoozing.snooze_wake(snooze_id=snooze.pk) is True

    assert len(server_messages(mailstack, mail_user, "INBOX")) == 1
    assert server_messages(mailstack, mail_user, "Snoozed") == {}


def test_the_sweep_leaves_snoozes_that_are_not_due(mailbox: Any) -> None:
    snoozing.message_snooze(message=indexed(mailbox, "Later please"), wake_at=timezone.now() + timedelta(hours=1))
    assert snooze_sweep() == 0
    assert Snooze.objects.get().state == SnoozeState.SNOOZED


def test_choices_are_in_the_users_time_zone() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris
    with timezone.override("Europe/Paris"):
        choices = {c.key: c.at for c in snoozing.snooze_choices(now=now)}
        custom = snoozing.snooze_time(choice="custom", custom="2026-12-01T09:30", now=now)
    assert choices["later"].hour == 18
    assert choices["tomorrow"] == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # 8:00 in Paris
    assert choices["next_week"] == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
    assert custom == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("custom", ["", "yesterday", "2020-01-01T10:00", "2026-12-01T09:30+05:00", "9999-01-01T00:00"])
def test_bad_snooze_times_are_refused_in_plain_words(custom: str) -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with pytest.raises(OrganiseError):
        snoozing.snooze_time(choice="custom", custom=custom, now=now)
    with pytest.raises(OrganiseError):
        snoozing.snooze_time(choice="whenever", now=now)
