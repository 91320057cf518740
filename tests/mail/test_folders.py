"""The folder tree against the real Dovecot: create, sub-folders, rename, delete, subscriptions, hostile names."""

from __future__ import annotations

from typing import Any

import pytest

from apps.mail import organise
from apps.mail.models import Folder
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    sync(account)
    return account


def server_folders(mailstack: Any, mail_user: Any) -> dict[str, bool]:
    """Every folder on the server → subscribed?"""
    with mailstack.imap(mail_user) as imap:
        subscribed = {name for _flags, _delim, name in imap.list_sub_folders()}
        return {name: name in subscribed for _flags, _delim, name in imap.list_folders()}


def test_create_a_folder_and_a_sub_folder_subscribed(account: Any, mailstack: Any, mail_user: Any) -> None:
    projects = organise.folder_create(account=account, name="Projects")
    sub = organise.folder_create(account=account, name="Été 2026", parent=projects)

    on_server = server_folders(mailstack, mail_user)
    assert on_server["Projects"]
    assert on_server["Projects/Été 2026"]
    assert sub.name == "Projects/Été 2026"
    assert sub.subscribed


def test_rename_keeps_the_messages_and_moves_the_sub_folders(account: Any, mailstack: Any, mail_user: Any) -> None:
    projects = organise.folder_create(account=account, name="Projects")
    organise.folder_create(account=account, name="Old", parent=projects)
    deliver(mailstack, mail_user, email_message("Plan"), folder="Projects")
    organise.folders_follow([projects])

    renamed = organise.folder_rename(folder=projects, name="Work")

    assert renamed.pk == projects.pk  # the same index, recognised by UIDVALIDITY
    assert renamed.messages.get().subject == "Plan"
    on_server = server_folders(mailstack, mail_user)
    assert "Projects" not in on_server
    assert on_server["Work"]
    assert "Work/Old" in on_server
    assert Folder.objects.filter(account=account, name="Work/Old").exists()


def test_delete_removes_the_folder_and_its_sub_folders(account: Any, mailstack: Any, mail_user: Any) -> None:
    projects = organise.folder_create(account=account, name="Projects")
    organise.folder_create(account=account, name="Old", parent=projects)

    organise.folder_delete(folder=projects)

    assert not {"Projects", "Projects/Old"} & set(server_folders(mailstack, mail_user))
    assert not Folder.objects.filter(account=account, name__startswith="Projects").exists()


@pytest.mark.parametrize("role", ["inbox", "trash", "sent", "archive"])
def test_special_folders_cannot_be_renamed_or_deleted(account: Any, role: str) -> None:
    folder = Folder.objects.get(account=account, role=role)
    with pytest.raises(organise.OrganiseError, match="special folder"):
        organise.folder_rename(folder=folder, name="Elsewhere")
    with pytest.raises(organise.OrganiseError, match="special folder"):
        organise.folder_delete(folder=folder)


def test_unsubscribe_hides_the_folder_and_subscribe_shows_it(account: Any, mailstack: Any, mail_user: Any) -> None:
    projects = organise.folder_create(account=account, name="Projects")

    organise.folder_set_subscribed(folder=projects, subscribed=False)
    assert server_folders(mailstack, mail_user)["Projects"] is False
    projects.refresh_from_db()
    assert not projects.subscribed

    organise.folder_set_subscribed(folder=projects, subscribed=True)
    assert server_folders(mailstack, mail_user)["Projects"] is True
    with pytest.raises(organise.OrganiseError):
        organise.folder_set_subscribed(folder=inbox_of(account), subscribed=False)


@pytest.mark.parametrize(
    "name",
    ["", "   ", "a/b", "evil\r\nA1 LOGOUT", "nul\x00", "x" * 201, "INBOX", "inbox"],
)
def test_hostile_or_invalid_folder_names_are_refused_in_plain_words(
    account: Any, mailstack: Any, mail_user: Any, name: str
) -> None:
    before = set(server_folders(mailstack, mail_user))
    with pytest.raises(organise.OrganiseError):
        organise.folder_create(account=account, name=name)
    assert set(server_folders(mailstack, mail_user)) == before


def test_quotes_and_backslashes_in_a_name_reach_the_server_intact(account: Any, mailstack: Any, mail_user: Any) -> None:
    folder = organise.folder_create(account=account, name='Say "hi" \\ bye')
    deliver(mailstack, mail_user, email_message("Quoted"))
    sync(account)
    message = inbox_of(account).messages.get()

    organise.messages_move(messages=[message], destination=folder)

    assert folder.messages.get().subject == "Quoted"
