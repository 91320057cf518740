"""INBOX examined before the LIST (apps.mail.sync._inbox_examined), against the real Dovecot:
every change to INBOX is still seen, with and without CONDSTORE/QRESYNC/LIST-STATUS, and a
change made between that EXAMINE and the rest of the sync is never lost."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from apps.mail import sync
from apps.mail.imap import ImapConnection
from apps.mail.models import Folder, MailAccount, Message
from apps.mail.sync import account_sync
from apps.mail.sync_tree import folders_sync
from tests.mail.mailboxes import account_for, inbox_of
from tests.mail.test_sync import build, fill, other_client, uids
from tests.mailstack import SBIN_PATH, MailStack, MailUser

pytestmark = pytest.mark.django_db

# What a plain IMAP4rev1 server lacks: no mod-sequences, no VANISHED, no STATUS in the LIST.
SYNC_EXTENSIONS = {"CONDSTORE", "QRESYNC", "LIST-STATUS"}


@pytest.fixture
def account(owner: Any, mail_user: MailUser, mailstack: MailStack) -> MailAccount:
    return account_for(owner, mail_user, mailstack)


@pytest.fixture(params=["extensions", "plain"])
def server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Dovecot as it is, or as a server without the sync extensions (they are hidden from the client)."""
    if request.param == "plain":
        capabilities = ImapConnection.capabilities
        monkeypatch.setattr(ImapConnection, "capabilities", lambda self: capabilities(self) - SYNC_EXTENSIONS)
    return str(request.param)


def flags_of(folder: Folder) -> dict[int, tuple[bool, bool]]:
    return {
        uid: (seen, flagged)
        for uid, seen, flagged in Message.objects.filter(folder=folder).values_list("uid", "seen", "flagged")
    }


def test_flags_expunges_and_new_messages_of_the_inbox_are_seen(
    server: str, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 6)])
    fill(mailstack, mail_user, "Sent", [build(n) for n in range(10, 12)])
    account_sync(account_id=account.pk)
    inbox = inbox_of(account)
    assert (inbox.highestmodseq is not None) == (server == "extensions")
    client = other_client(mailstack, mail_user)
    client.add_flags([1], [b"\\Seen"])
    client.add_flags([2], [b"\\Flagged"])
    client.delete_messages([3])
    client.expunge()
    client.logout()
    fill(mailstack, mail_user, "INBOX", [build(6), build(7)])

    result = account_sync(account_id=account.pk)

    inbox.refresh_from_db()
    assert uids(inbox) == [1, 2, 4, 5, 6, 7]
    assert (result.added, sum(f.removed for f in result.folders)) == (2, 1)
    assert flags_of(inbox)[1] == (True, False)
    assert flags_of(inbox)[2] == (False, True)
    assert (inbox.total, inbox.unread) == (6, 5)
    again = account_sync(account_id=account.pk)
    assert (again.added, sum(f.changed + f.removed for f in again.folders)) == (0, 0)
    assert uids(inbox) == [1, 2, 4, 5, 6, 7]


def test_a_uidvalidity_change_of_the_inbox_rebuilds_it(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)
    inbox = inbox_of(account)
    assert inbox.uidvalidity is not None
    validity = inbox.uidvalidity + 1000
    before = set(Message.objects.filter(folder=inbox).values_list("id", flat=True))
    doveadm = shutil.which("doveadm", path=SBIN_PATH) or "doveadm"
    conf = str(mailstack.dir / "etc" / "dovecot" / "dovecot.conf")
    update = ["mailbox", "update", "-u", mail_user.address, "--uid-validity", str(validity), "INBOX"]
    subprocess.run([doveadm, "-c", conf, *update], check=True, capture_output=True)

    result = account_sync(account_id=account.pk)

    inbox.refresh_from_db()
    assert inbox.uidvalidity == validity
    assert (result.added, sum(f.removed for f in result.folders)) == (3, 3)
    assert uids(inbox) == [1, 2, 3]
    assert not before & set(Message.objects.filter(folder=inbox).values_list("id", flat=True))


def test_changes_made_between_the_examine_and_the_list_are_seen_by_the_next_sync(
    server: str, account: MailAccount, mailstack: MailStack, mail_user: MailUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """INBOX's state is read before the LIST; a message or a flag that comes in meanwhile is not
    claimed as seen (UIDNEXT, HIGHESTMODSEQ stay those of the EXAMINE) and the next sync finds it."""
    fill(mailstack, mail_user, "INBOX", [build(n) for n in range(1, 4)])
    account_sync(account_id=account.pk)

    def meanwhile(**kwargs: Any) -> Any:
        client = other_client(mailstack, mail_user)
        client.add_flags([1], [b"\\Seen"])
        client.logout()
        fill(mailstack, mail_user, "INBOX", [build(4)])
        return folders_sync(**kwargs)

    monkeypatch.setattr(sync, "folders_sync", meanwhile)
    account_sync(account_id=account.pk)
    monkeypatch.setattr(sync, "folders_sync", folders_sync)  # not undo(): `server` may hide capabilities

    inbox = inbox_of(account)
    if 4 not in uids(inbox):
        assert (inbox.uidnext or 0) <= 4  # not past a message it has not indexed
    account_sync(account_id=account.pk)
    assert uids(inbox) == [1, 2, 3, 4]
    assert flags_of(inbox)[1] == (True, False)
