"""The IMAP adapter's sync and reading methods, against the real Dovecot (no IMAP mocks)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from apps.mail.imap import (
    ImapCommandError,
    ImapConnection,
    ImapFolderError,
    ImapSettings,
)
from apps.mail.imap_parse import parse_fetch_response, uid_ranges, uid_set_from
from tests.mailstack import MailStack, MailUser


def _message(number: int, *, attachment: bool = False) -> bytes:
    message = EmailMessage()
    message["From"] = "Ann <ann@example.org>"
    message["To"] = "you@example.test"
    message["Subject"] = f"Message {number}"
    message["Message-ID"] = f"<m{number}@example.org>"
    message.set_content(f"Body {number}\n")
    if attachment:
        message.add_attachment(b"%PDF-1.4", "application", "pdf", filename="doc.pdf")
    return message.as_bytes()


@pytest.fixture
def imap(mailstack: MailStack, mail_user: MailUser) -> Iterator[ImapConnection]:
    settings = ImapSettings(
        host=mailstack.host,
        port=mailstack.ports.imap,
        security="none",
        username=mail_user.address,
        password=mail_user.password,
    )
    with ImapConnection(settings) as connection:
        yield connection


def test_folders_are_listed_with_roles_delimiter_and_subscription(imap: ImapConnection) -> None:
    imap.client.create_folder("Projects/2026")

    folders = {folder.name: folder for folder in imap.list_folders()}

    assert folders["INBOX"].role == "inbox"
    assert folders["INBOX"].subscribed
    assert {folders[name].role for name in ("Sent", "Drafts", "Trash", "Junk", "Archive")} == {
        "sent",
        "drafts",
        "trash",
        "junk",
        "archive",
    }
    assert folders["Projects/2026"].delimiter == "/"
    assert folders["Projects/2026"].role == ""
    assert not folders["Projects/2026"].subscribed
    assert folders["Projects/2026"].selectable


def test_examine_reports_uidvalidity_uidnext_and_highestmodseq(imap: ImapConnection) -> None:
    enabled = imap.enable_sync_extensions()
    imap.client.multiappend("INBOX", [_message(1), _message(2)])

    state = imap.select("INBOX")

    assert {"CONDSTORE", "QRESYNC"} <= enabled
    assert state.exists == 2
    assert state.uidnext == 3
    assert state.uidvalidity > 0
    assert state.highestmodseq is not None


def test_headers_are_fetched_by_uid_range(imap: ImapConnection) -> None:
    imap.enable_sync_extensions()
    imap.client.multiappend("INBOX", [_message(n, attachment=n == 3) for n in range(1, 6)])

    fetched = imap.fetch_headers("INBOX", "2:4")

    assert [item.uid for item in fetched] == [2, 3, 4]
    assert b"Subject: Message 2" in fetched[0].header
    assert b"Message-ID: <m2@example.org>" in fetched[0].header
    assert b"Body" not in fetched[0].header
    assert fetched[0].size > 0
    assert fetched[0].internal_date
    assert fetched[0].modseq is not None
    assert isinstance(fetched[1].bodystructure, list)
    assert imap.search_uids("ALL") == [1, 2, 3, 4, 5]


def test_reading_a_message_or_a_part_never_marks_it_seen(imap: ImapConnection) -> None:
    imap.client.multiappend("INBOX", [_message(1, attachment=True)])

    raw = imap.fetch_raw("INBOX", 1)
    part = imap.fetch_part("INBOX", 1, "1")

    assert raw.startswith(b"From: Ann") or b"Subject: Message 1" in raw
    assert part.strip() == b"Body 1"
    assert imap.fetch_flags("INBOX", "1") == {1: ()}


def test_a_missing_message_or_a_bad_part_is_a_clear_error(imap: ImapConnection) -> None:
    imap.client.multiappend("INBOX", [_message(1)])

    with pytest.raises(ImapCommandError, match="no longer"):
        imap.fetch_raw("INBOX", 99)
    with pytest.raises(ImapCommandError):
        imap.fetch_part("INBOX", 1, "1] BODY[")
    with pytest.raises(ImapFolderError):
        imap.select("No such folder")


def test_flags_are_added_removed_and_set_by_uid(imap: ImapConnection) -> None:
    imap.client.multiappend("INBOX", [_message(1), _message(2)])

    imap.add_flags("INBOX", [1, 2], ["\\Seen", "$Important"])
    imap.remove_flags("INBOX", [2], ["\\Seen"])
    imap.set_flags("INBOX", [1], ["\\Flagged"])

    flags = imap.fetch_flags("INBOX", "1:2")
    assert set(flags[1]) == {"\\Flagged"}
    assert set(flags[2]) == {"$Important"}
    with pytest.raises(ImapCommandError):
        imap.add_flags("INBOX", [1], ["bad flag)"])


def test_flag_changes_since_a_modseq_and_vanished_uids(
    imap: ImapConnection, mailstack: MailStack, mail_user: MailUser
) -> None:
    imap.enable_sync_extensions()
    imap.client.multiappend("INBOX", [_message(n) for n in range(1, 5)])
    before = imap.select("INBOX").highestmodseq
    assert before is not None
    other = mailstack.imap(mail_user)
    other.select_folder("INBOX")
    other.add_flags([2], [b"\\Seen"])
    other.delete_messages([3])
    other.expunge()
    other.logout()

    imap.select("INBOX")
    changes = imap.fetch_changes("INBOX", "1:4", since_modseq=before)

    assert changes.flags == {2: ("\\Seen",)}
    assert 3 in {uid for low, high in changes.vanished for uid in range(low, high + 1)}


def test_idle_reports_a_new_message(imap: ImapConnection, mailstack: MailStack, mail_user: MailUser) -> None:
    imap.idle_start("INBOX")
    other = mailstack.imap(mail_user)
    other.append("INBOX", _message(1))
    other.logout()

    events = []
    for _attempt in range(10):
        events += imap.idle_check(timeout=1)
        if any(event.kind == "exists" for event in events):
            break
    imap.idle_done()

    assert any(event.kind == "exists" and event.number == 1 for event in events)
    assert imap.noop() == []


def test_a_message_that_arrived_before_idle_began_is_reported_by_the_first_check(
    imap: ImapConnection, mailstack: MailStack, mail_user: MailUser
) -> None:
    """Dovecot announces it right behind "+ idling", often in the same packet (the push watcher's
    case: mail delivered while it synced); one check must report it, not wait for more traffic."""
    imap.select("INBOX")
    other = mailstack.imap(mail_user)
    other.append("INBOX", _message(1))
    other.logout()

    imap.idle_start("INBOX")
    events = imap.idle_check(timeout=5)
    imap.idle_done()

    assert [(event.kind, event.number) for event in events if event.kind == "exists"] == [("exists", 1)]


def test_fetch_responses_with_literals_quotes_and_nil_are_parsed() -> None:
    lines = [
        (
            b'1 (UID 7 FLAGS (\\Seen $X) BODYSTRUCTURE ("text" "plain" NIL NIL "a \\"q\\"" "7bit" 3 1)'
            b" BODY[HEADER] {9}",
            b"Subject:\r\n",
        ),
        b" RFC822.SIZE 42)",
        b"2 (FLAGS () UID 8)",
    ]

    first, second = parse_fetch_response(lines)

    assert first[b"UID"] == b"7"
    assert first[b"FLAGS"] == [b"\\Seen", b"$X"]
    assert first[b"BODYSTRUCTURE"][2] is None
    assert first[b"BODYSTRUCTURE"][4] == b'a "q"'
    assert first[b"BODY[HEADER]"] == b"Subject:\r\n"
    assert first[b"RFC822.SIZE"] == b"42"
    assert second == {b"FLAGS": [], b"UID": b"8"}


def test_uid_sets_are_compact_both_ways() -> None:
    assert uid_set_from([5, 1, 2, 3, 9, 10]) == "1:3,5,9:10"
    assert uid_ranges(b"1:3,5,10:9,*,x") == [(1, 3), (5, 5), (9, 10)]
