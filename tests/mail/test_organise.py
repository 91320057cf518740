"""Organising messages against the real Dovecot: flags, moves, archive, trash, junk, concurrent clients."""

from __future__ import annotations

from typing import Any

import pytest

from apps.mail import organise
from apps.mail.imap import ImapConnection, ImapSettings
from apps.mail.models import Folder, Message
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, indexed, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(
        mailstack,
        mail_user,
        email_message("First", Message_ID="<first@example.org>"),
        email_message("Second", Message_ID="<second@example.org>"),
        email_message("Third", Message_ID="<third@example.org>"),
    )
    sync(account)
    return account


def server_subjects(mailstack: Any, mail_user: Any, folder: str) -> set[str]:
    with mailstack.imap(mail_user) as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search("ALL")
        fetched = imap.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]) if uids else {}
        return {data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip() for data in fetched.values()}


def server_flags(mailstack: Any, mail_user: Any, folder: str, subject: str) -> set[bytes]:
    with mailstack.imap(mail_user) as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search(["SUBJECT", subject])
        return set(imap.get_flags(uids)[uids[0]])


def indexed_subjects(folder: Folder) -> set[str]:
    return set(Message.objects.filter(folder=folder).values_list("subject", flat=True))


def test_flags_are_set_on_the_server_first_and_the_index_follows(mailbox: Any, mailstack: Any, mail_user: Any) -> None:
    first, second = indexed(mailbox, "First"), indexed(mailbox, "Second")

    organise.messages_set_flag(messages=[first, second], flag="seen", value=True)
    organise.messages_set_flag(messages=[first], flag="flagged", value=True)

    assert b"\\Seen" in server_flags(mailstack, mail_user, "INBOX", "Second")
    assert {b"\\Seen", b"\\Flagged"} <= server_flags(mailstack, mail_user, "INBOX", "First")
    first.refresh_from_db()
    assert first.seen
    assert first.flagged
    assert inbox_of(mailbox).unread == 1

    organise.messages_set_flag(messages=[first], flag="seen", value=False)
    first.refresh_from_db()
    assert not first.seen
    assert b"\\Seen" not in server_flags(mailstack, mail_user, "INBOX", "First")


def test_move_to_a_folder_moves_on_the_server_and_the_index_follows(
    mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    projects = organise.folder_create(account=mailbox, name="Projects")

    result = organise.messages_move(
        messages=[indexed(mailbox, "First"), indexed(mailbox, "Second")], destination=projects
    )

    assert result == organise.ActionResult(done=2, missing=0)
    assert server_subjects(mailstack, mail_user, "Projects") == {"First", "Second"}
    assert server_subjects(mailstack, mail_user, "INBOX") == {"Third"}
    assert indexed_subjects(projects) == {"First", "Second"}
    assert indexed_subjects(inbox_of(mailbox)) == {"Third"}


def test_archive_goes_to_the_archive_folder_or_its_year_sub_folder(
    mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    organise.messages_archive(messages=[indexed(mailbox, "First")])
    assert "First" in server_subjects(mailstack, mail_user, "Archive")

    organise.organise_settings_update(account=mailbox, archive_by_year=True)
    organise.messages_archive(messages=[indexed(mailbox, "Second")])

    assert server_subjects(mailstack, mail_user, "Archive/2026") == {"Second"}  # created on demand
    year = Folder.objects.get(account=mailbox, name="Archive/2026")
    assert year.subscribed
    assert indexed_subjects(year) == {"Second"}


def test_trash_then_delete_for_ever_then_empty_the_trash(mailbox: Any, mailstack: Any, mail_user: Any) -> None:
    organise.messages_trash(messages=[indexed(mailbox, "First"), indexed(mailbox, "Second")])
    trash = Folder.objects.get(account=mailbox, role="trash")
    assert indexed_subjects(trash) == {"First", "Second"}

    in_trash = Message.objects.get(folder=trash, subject="First")
    with pytest.raises(organise.OrganiseError, match="delete them for ever"):
        organise.messages_trash(messages=[in_trash])
    organise.messages_delete_forever(messages=[in_trash])
    assert server_subjects(mailstack, mail_user, "Trash") == {"Second"}
    assert indexed_subjects(trash) == {"Second"}

    with pytest.raises(organise.OrganiseError):
        organise.folder_empty(folder=inbox_of(mailbox))
    organise.folder_empty(folder=trash)
    assert server_subjects(mailstack, mail_user, "Trash") == set()
    assert indexed_subjects(trash) == set()
    assert server_subjects(mailstack, mail_user, "INBOX") == {"Third"}


def test_junk_marks_the_keyword_and_not_junk_brings_it_back(mailbox: Any, mailstack: Any, mail_user: Any) -> None:
    organise.messages_junk(messages=[indexed(mailbox, "First")])

    assert b"$Junk" in server_flags(mailstack, mail_user, "Junk", "First")
    junk = Folder.objects.get(account=mailbox, role="junk")
    back = Message.objects.get(folder=junk, subject="First")
    assert "$Junk" in back.keywords

    organise.messages_not_junk(messages=[back])

    flags = server_flags(mailstack, mail_user, "INBOX", "First")
    assert b"$NotJunk" in flags
    assert b"$Junk" not in flags
    assert "First" in indexed_subjects(inbox_of(mailbox))


def test_a_message_moved_by_another_client_meanwhile_is_reported_not_duplicated(
    mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    first, second = indexed(mailbox, "First"), indexed(mailbox, "Second")  # what our list showed
    with mailstack.imap(mail_user) as other:  # another mail program acts between list and action
        other.select_folder("INBOX")
        other.move(other.search(["SUBJECT", "First"]), "Junk")
        uids = other.search(["SUBJECT", "Third"])
        other.delete_messages(uids)
        other.expunge()

    result = organise.messages_trash(messages=[first, second])

    assert result == organise.ActionResult(done=1, missing=1)
    assert server_subjects(mailstack, mail_user, "Trash") == {"Second"}
    assert server_subjects(mailstack, mail_user, "Junk") == {"First"}
    assert indexed_subjects(inbox_of(mailbox)) == set()  # the index follows the server, both changes
    trash = Folder.objects.get(account=mailbox, role="trash")
    assert indexed_subjects(trash) == {"Second"}


def test_flags_on_a_message_deleted_elsewhere_leave_the_index_right(
    mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    first = indexed(mailbox, "First")
    with mailstack.imap(mail_user) as other:
        other.select_folder("INBOX")
        other.delete_messages(other.search(["SUBJECT", "First"]))
        other.expunge()

    organise.messages_set_flag(messages=[first], flag="flagged", value=True)

    assert not Message.objects.filter(pk=first.pk).exists()


def test_move_without_the_move_extension_copies_and_expunges_only_those_uids(mailstack: Any, mail_user: Any) -> None:
    deliver(mailstack, mail_user, email_message("One"), email_message("Two"))
    settings = ImapSettings(
        host=mailstack.host,
        port=mailstack.ports.imap,
        security="none",
        username=mail_user.address,
        password=mail_user.password,
    )
    with mailstack.imap(mail_user) as other:  # another client's \Deleted must survive our expunge
        other.select_folder("INBOX")
        other.add_flags(other.search(["SUBJECT", "Two"]), [b"\\Deleted"])
    with ImapConnection(settings) as imap:
        imap._capabilities = imap.capabilities() - {"MOVE"}
        assert not imap.has("MOVE")
        uid = imap.folder_uids("INBOX")[0]

        mapping = imap.move("INBOX", [uid], "Archive")

        assert list(mapping) == [uid]
        assert imap.folder_uids("Archive") == [mapping[uid]]
    assert server_subjects(mailstack, mail_user, "INBOX") == {"Two"}
    assert server_subjects(mailstack, mail_user, "Archive") == {"One"}
