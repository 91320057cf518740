"""The sync engine (apps.mail.sync) against the real Dovecot: newest first, resumable, idempotent."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest

from apps.core.redis import get_redis, key
from apps.mail import events, sync
from apps.mail.imap import ImapLoginError
from apps.mail.models import Folder, MailAccount, Message, SyncStatus, Thread
from apps.mail.services import mail_account_create, mail_account_set_password
from apps.mail.sync import FIRST_BATCH, account_sync, folder_sync
from apps.mail.tasks import _queued_key, sync_sweep_accounts
from tests.mailstack import MailStack, MailUser

pytestmark = pytest.mark.django_db
START = datetime(2026, 1, 1, tzinfo=UTC)


def build(
    number: int,
    *,
    subject: str | None = None,
    message_id: str | None = None,
    reply_to: str | None = None,
    references: str | None = None,
    sender: str = "Ann Example <ann@example.org>",
    to: str = "me@example.test",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject if subject is not None else f"Message {number}"
    message["Date"] = format_datetime(START + timedelta(minutes=number))
    message["Message-ID"] = message_id or f"<n{number}@example.org>"
    if reply_to:
        message["In-Reply-To"] = reply_to
    if references:
        message["References"] = references
    message.set_content(f"Body of message {number}.\n")
    return message.as_bytes()


def fill(stack: MailStack, user: MailUser, folder: str, messages: list[bytes], flags: tuple[bytes, ...] = ()) -> None:
    client = stack.imap(user)
    try:
        if folder != "INBOX" and not client.folder_exists(folder):
            client.create_folder(folder)
        for start in range(0, len(messages), 500):
            if flags:
                for raw in messages[start : start + 500]:
                    client.append(folder, raw, flags=flags)
            else:
                client.multiappend(folder, messages[start : start + 500])
    finally:
        client.logout()


def other_client(stack: MailStack, user: MailUser, folder: str = "INBOX") -> Any:
    client = stack.imap(user)
    client.select_folder(folder)
    return client


@pytest.fixture
def make_account(mailstack: MailStack) -> Callable[..., MailAccount]:
    def make(owner: Any, user: MailUser) -> MailAccount:
        return mail_account_create(
            owner=owner,
            email_address=user.address,
            imap_host=mailstack.host,
            imap_port=mailstack.ports.imap,
            imap_security="none",
            imap_password=user.password,
        )

    return make


@pytest.fixture
def account(owner: Any, mail_user: MailUser, make_account: Callable[..., MailAccount]) -> MailAccount:
    return make_account(owner, mail_user)


def inbox_of(account: MailAccount) -> Folder:
    return Folder.objects.get(account=account, role="inbox")


def uids(folder: Folder) -> list[int]:
    return sorted(Message.objects.filter(folder=folder).values_list("uid", flat=True))


class InterruptError(Exception):
    pass


def interrupt_after_first_batch(folder: Folder, done: int, total: int) -> None:
    raise InterruptError


# ---------------------------------------------------------------- newest first, resumable
def test_the_first_batch_holds_the_newest_messages(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 1201)])

    with pytest.raises(InterruptError):
        account_sync(account_id=account.pk, progress=interrupt_after_first_batch)

    inbox = inbox_of(account)
    assert uids(inbox) == list(range(1201 - FIRST_BATCH, 1201))
    assert inbox.backfill_below == 1201 - FIRST_BATCH
    assert not inbox.backfill_done
    assert inbox.total == 1200


def test_an_interrupted_sync_resumes_without_losing_or_duplicating(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 3001)])
    with pytest.raises(InterruptError):
        account_sync(account_id=account.pk, progress=interrupt_after_first_batch)
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(3001, 3011)])  # mail arrives meanwhile

    result = account_sync(account_id=account.pk)

    inbox = inbox_of(account)
    assert uids(inbox) == list(range(1, 3011))
    assert result.added == 3010 - FIRST_BATCH
    assert inbox.backfill_done
    assert (inbox.total, inbox.unread) == (3010, 3010)


def test_the_index_holds_what_lists_need(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    message = EmailMessage()
    message["From"] = "=?utf-8?q?Chlo=C3=A9?= <chloe@example.org>"
    message["To"] = "Me <me@example.test>, other@example.test"
    message["Subject"] = "Quarterly report"
    message["Date"] = "Tue, 03 Feb 2026 10:00:00 +0100"
    message["Message-ID"] = "<report@example.org>"
    message["List-Unsubscribe"] = "<https://example.org/u>"
    message["X-Spam-Score"] = "2.5"
    message.set_content("See attached.\n")
    message.add_attachment(b"%PDF-1.4", "application", "pdf", filename="report.pdf")
    fill(mailstack, mail_user, "INBOX", [message.as_bytes()], flags=(b"\\Flagged",))

    account_sync(account_id=account.pk)

    indexed = Message.objects.get(folder=inbox_of(account))
    assert (indexed.from_name, indexed.from_address) == ("Chloé", "chloe@example.org")
    assert indexed.to == [["Me", "me@example.test"], ["", "other@example.test"]]
    assert indexed.subject == "Quarterly report"
    assert indexed.date == datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    assert indexed.sort_date == indexed.date
    assert indexed.has_attachments
    assert indexed.flagged
    assert not indexed.seen
    assert indexed.list_unsubscribe == "<https://example.org/u>"
    assert indexed.spam_score == 2.5
    assert indexed.size > 0
    account.refresh_from_db()
    assert account.sync_status == SyncStatus.OK
    assert account.last_synced_at is not None


def test_syncing_twice_changes_nothing(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 50)])
    fill(mailstack, mail_user, "Sent", [build(n) for n in range(50, 60)])
    account_sync(account_id=account.pk)
    before = sorted(Message.objects.filter(account=account).values_list("id", "folder_id", "uid", "seen", "thread_id"))

    again = account_sync(account_id=account.pk)

    after = sorted(Message.objects.filter(account=account).values_list("id", "folder_id", "uid", "seen", "thread_id"))
    assert after == before
    assert (again.added, sum(f.changed for f in again.folders), sum(f.removed for f in again.folders)) == (0, 0, 0)


# ---------------------------------------------------------------- changes made elsewhere
def test_flags_changed_by_another_client_are_picked_up(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 6)])
    account_sync(account_id=account.pk)
    inbox = inbox_of(account)
    assert inbox.highestmodseq is not None  # the CONDSTORE path
    client = other_client(mailstack, mail_user)
    client.add_flags([1, 2], [b"\\Seen"])
    client.add_flags([3], [b"\\Flagged", b"$Work"])
    client.logout()

    result = account_sync(account_id=account.pk)

    rows = {m.uid: m for m in Message.objects.filter(folder=inbox)}
    assert [rows[1].seen, rows[2].seen, rows[3].seen] == [True, True, False]
    assert rows[3].flagged
    assert rows[3].keywords == ["$Work"]
    assert sum(f.changed for f in result.folders) == 3
    inbox.refresh_from_db()
    assert inbox.unread == 3
    assert rows[1].thread is not None
    assert rows[1].thread.unread_count == 0


def test_flags_are_diffed_when_no_modseq_is_known(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 6)])
    account_sync(account_id=account.pk)
    Folder.objects.filter(account=account).update(highestmodseq=None)  # as with a server without CONDSTORE
    client = other_client(mailstack, mail_user)
    client.add_flags([4], [b"\\Answered"])
    client.logout()

    account_sync(account_id=account.pk)

    assert Message.objects.get(folder=inbox_of(account), uid=4).answered


def test_expunged_messages_disappear(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 6)])
    account_sync(account_id=account.pk)
    client = other_client(mailstack, mail_user)
    client.delete_messages([2, 4])
    client.expunge()
    client.logout()

    result = account_sync(account_id=account.pk)

    inbox = inbox_of(account)
    assert uids(inbox) == [1, 3, 5]
    assert sum(f.removed for f in result.folders) == 2
    assert inbox.total == 3
    assert not Thread.objects.filter(account=account, message_count=0).exists()


def test_a_new_message_is_picked_up_by_the_folder_sync(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    fill(mailstack, mail_user, "INBOX", [build(4)])

    result = folder_sync(folder_id=inbox_of(account).pk)

    assert result.added == 1
    assert uids(inbox_of(account)) == [1, 2, 3, 4]


def test_a_uidvalidity_change_rebuilds_the_folder(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "Projects", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    projects = Folder.objects.get(account=account, name="Projects")
    old_validity = projects.uidvalidity
    client = mailstack.imap(mail_user)
    client.delete_folder("Projects")
    client.logout()
    time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock: a new second, a new value
    fill(mailstack, mail_user, "Projects", [build(n, subject=f"New {n}") for n in (10, 11)])

    account_sync(account_id=account.pk)

    projects.refresh_from_db()
    assert projects.uidvalidity != old_validity
    subjects = sorted(Message.objects.filter(folder=projects).values_list("uid", "subject"))
    assert subjects == [(1, "New 10"), (2, "New 11")]


def test_a_folder_renamed_on_the_server_keeps_its_index(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "Old name", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    folder = Folder.objects.get(account=account, name="Old name")
    ids = sorted(Message.objects.filter(folder=folder).values_list("id", flat=True))
    client = mailstack.imap(mail_user)
    client.rename_folder("Old name", "New name")
    client.logout()

    account_sync(account_id=account.pk)

    folder.refresh_from_db()
    assert folder.name == "New name"
    assert sorted(Message.objects.filter(folder=folder).values_list("id", flat=True)) == ids


def test_a_folder_deleted_on_the_server_is_dropped(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "Doomed", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    client = mailstack.imap(mail_user)
    client.delete_folder("Doomed")
    client.logout()

    account_sync(account_id=account.pk)

    assert not Folder.objects.filter(account=account, name="Doomed").exists()
    assert not Message.objects.filter(account=account).exists()
    assert not Thread.objects.filter(account=account).exists()


def test_special_use_roles_come_from_the_server(account: MailAccount) -> None:
    account_sync(account_id=account.pk)

    roles = dict(Folder.objects.filter(account=account).values_list("name", "role"))
    assert roles == {
        "INBOX": "inbox",
        "Sent": "sent",
        "Drafts": "drafts",
        "Trash": "trash",
        "Junk": "junk",
        "Archive": "archive",
    }


# ---------------------------------------------------------------- conversations
def test_a_conversation_spans_the_inbox_and_sent(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(1, subject="Plans", message_id="<a@example.org>")])
    fill(
        mailstack,
        mail_user,
        "Sent",
        [build(2, subject="Re: Plans", message_id="<b@me>", reply_to="<a@example.org>", references="<a@example.org>")],
    )
    fill(
        mailstack,
        mail_user,
        "INBOX",
        [
            build(
                3,
                subject="Re: Plans",
                message_id="<c@example.org>",
                reply_to="<b@me>",
                references="<a@example.org> <b@me>",
            ),
            build(4, subject="Re: Plans"),  # same subject, no reference: another conversation
        ],
    )

    account_sync(account_id=account.pk)

    threads = {m.message_id: m.thread_id for m in Message.objects.filter(account=account)}
    assert threads["a@example.org"] == threads["b@me"] == threads["c@example.org"]
    assert threads["n4@example.org"] != threads["a@example.org"]
    thread = Thread.objects.get(messages__message_id="a@example.org")
    assert (thread.subject, thread.message_count) == ("Plans", 3)


# ---------------------------------------------------------------- errors, hostile input, isolation
def test_a_wrong_password_pauses_the_account_and_the_sweep_skips_it(account: MailAccount) -> None:
    mail_account_set_password(account=account, imap_password="no-longer-valid")

    with pytest.raises(ImapLoginError):
        account_sync(account_id=account.pk)

    account.refresh_from_db()
    assert account.sync_paused
    assert account.sync_status == SyncStatus.ERROR
    assert "password" in account.last_error
    assert account_sync(account_id=account.pk).skipped
    assert sync_sweep_accounts() == 0
    assert not get_redis().exists(_queued_key(account.pk))

    mail_account_set_password(account=account, imap_password="a-new-one")
    account.refresh_from_db()
    assert not account.sync_paused


def test_two_syncs_of_one_account_never_run_at_once(account: MailAccount) -> None:
    with sync.account_sync_lock(account.pk), pytest.raises(sync.SyncBusy):
        account_sync(account_id=account.pk)

    assert not get_redis().exists(key("mail", "sync", account.pk))


def test_hostile_messages_never_crash_the_sync(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    hostile = [
        b"From: \x80\x81 <\xff@\xfe>\r\nSubject: caf\xe9 =?x-unknown?B?!!!?=\r\nDate: Mon, 32 Foo 99999\r\n\r\nx\r\n",
        b"From: a@example.org\r\nSubject: "
        + b"long " * 2000
        + b"\r\nDate: Thu, 01 Jan 2999 00:00:00 +0000\r\n\r\nx\r\n",
        b"Subject: no message id, no from, no date\r\n\r\nbody\r\n",
        b"From: <<<>>>@@,,;;\r\nTo: undisclosed-recipients:;\r\nReferences: <a@x> <a@x> <<broken\r\n"
        b"Message-ID: <loop@x>\r\nIn-Reply-To: <loop@x>\r\n\r\nx\r\n",
        b"no header at all, just text\r\n",
        b"Content-Type: multipart/mixed; boundary=none\r\nSubject: broken mime\r\n\r\n--x\r\n",
    ]
    fill(mailstack, mail_user, "INBOX", hostile)

    account_sync(account_id=account.pk)

    rows = list(Message.objects.filter(folder=inbox_of(account)).order_by("uid"))
    assert len(rows) == len(hostile)
    assert len(rows[1].subject) == 1000
    assert rows[1].date is None
    assert rows[1].sort_date == rows[1].internal_date
    assert rows[2].message_id == ""
    assert all(row.thread_id for row in rows)


def test_the_outsiders_account_is_never_touched_by_another_users_sync(
    account: MailAccount,
    outsider: Any,
    mailstack: MailStack,
    mail_user: MailUser,
    make_mail_user: Callable[..., MailUser],
    make_account: Callable[..., MailAccount],
) -> None:
    outsider_user = make_mail_user()
    outsiders = make_account(outsider, outsider_user)
    shared = build(1, message_id="<same@example.org>")
    fill(mailstack, outsider_user, "INBOX", [shared])
    fill(mailstack, mail_user, "INBOX", [shared, build(2, reply_to="<same@example.org>")])
    account_sync(account_id=outsiders.pk)
    before = sorted(Message.objects.filter(account=outsiders).values_list("id", "uid", "seen", "thread_id"))
    outsiders_synced = MailAccount.objects.get(pk=outsiders.pk).last_synced_at

    account_sync(account_id=account.pk)

    assert sorted(Message.objects.filter(account=outsiders).values_list("id", "uid", "seen", "thread_id")) == before
    assert MailAccount.objects.get(pk=outsiders.pk).last_synced_at == outsiders_synced
    mine = set(Message.objects.filter(account=account).values_list("thread_id", flat=True))
    theirs = set(Message.objects.filter(account=outsiders).values_list("thread_id", flat=True))
    assert not mine & theirs
    assert Thread.objects.get(pk=next(iter(theirs))).message_count == 1


def test_the_sync_publishes_counts_messages_and_progress(
    account: MailAccount,
    mailstack: MailStack,
    mail_user: MailUser,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sent: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(
        events, "group_send_on_commit", lambda group, kind, payload: sent.append((group, kind, payload))
    )
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 4)])

    account_sync(account_id=account.pk)

    inbox = inbox_of(account)
    groups = {group for group, _kind, _payload in sent}
    assert groups == {f"user.{account.owner_id}"}
    added = [p for _g, kind, p in sent if kind == "mail.messages" and p["folder_id"] == inbox.pk]
    assert sorted(i for p in added for i in p["added"]) == sorted(
        Message.objects.filter(folder=inbox).values_list("id", flat=True)
    )
    counts = [p for _g, kind, p in sent if kind == "mail.folders"]
    assert {"id": inbox.pk, "unread": 3, "total": 3} in [f for p in counts for f in p["folders"]]
    states = [p["state"] for _g, kind, p in sent if kind == "mail.sync"]
    assert (states[0], states[-1]) == ("running", "done")


def test_a_sync_with_nothing_new_examines_only_the_inbox_and_a_change_is_still_seen(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dovecot answers LIST-STATUS: unchanged folders are known from the LIST alone. INBOX is
    examined before the LIST (sync._inbox_examined), and that selection serves its sync."""
    from apps.mail.imap import ImapConnection

    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    commands: list[str] = []
    select, list_folders = ImapConnection.select, ImapConnection.list_folders

    def counting_select(self: ImapConnection, folder: str, *, readonly: bool = True) -> Any:
        commands.append(f"EXAMINE {folder}")
        return select(self, folder, readonly=readonly)

    def counting_list(self: ImapConnection) -> Any:
        commands.append("LIST")
        return list_folders(self)

    monkeypatch.setattr(ImapConnection, "select", counting_select)
    monkeypatch.setattr(ImapConnection, "list_folders", counting_list)

    account_sync(account_id=account.pk)
    assert commands == ["EXAMINE INBOX", "LIST"]

    fill(mailstack, mail_user, "INBOX", [build(4)])
    client = mailstack.imap(mail_user)
    client.select_folder("Sent")
    client.append("Sent", build(5))
    client.logout()
    commands.clear()
    account_sync(account_id=account.pk)
    assert commands == ["EXAMINE INBOX", "LIST", "EXAMINE Sent"]  # INBOX's first EXAMINE serves its sync
    assert Message.objects.filter(folder__account=account, folder__role="inbox").count() == 4
    assert Message.objects.filter(folder__account=account, folder__role="sent").count() == 1


def test_list_status_lines_are_read_by_folder_name() -> None:
    from apps.mail.imap_parse import _statuses

    statuses = _statuses(
        [
            b'"INBOX" (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1700000000 HIGHESTMODSEQ 9)',
            b'"Dossier &AOk-t&AOk-" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY 1700000001 HIGHESTMODSEQ 1)',
            b"garbage (",
            b'"NoValidity" (MESSAGES 1)',
        ]
    )
    assert set(statuses) == {"INBOX", "Dossier été"}
    assert (statuses["INBOX"].exists, statuses["INBOX"].uidnext, statuses["INBOX"].highestmodseq) == (3, 4, 9)


def test_progress_counts_what_is_indexed_after_each_batch(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 621)])
    seen: list[tuple[int, int, int]] = []

    def progress(folder: Folder, done: int, total: int) -> None:
        if folder.role == "inbox":
            seen.append((done, total, Message.objects.filter(folder=folder).count()))

    account_sync(account_id=account.pk, progress=progress)

    assert [(done, total) for done, total, _count in seen] == [(500, 620), (620, 620)]
    assert all(done == count for done, _total, count in seen)
