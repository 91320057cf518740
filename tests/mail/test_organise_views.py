"""The organising endpoints: JSON and plain-form answers, CSRF, and the outsider who gets 404 everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.mail import organise
from apps.mail import snooze as snoozing
from apps.mail.models import Folder, Message, Snooze, SnoozeState
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, indexed, sync

pytestmark = pytest.mark.django_db(transaction=True)
JSON = {"Accept": "application/json"}


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("First"), email_message("Second"))
    sync(account)
    return account


def client_for(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_the_mailbox_shows_the_toolbar_and_the_reader_the_message_actions(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    inbox = inbox_of(mailbox)
    message = indexed(mailbox, "First")
    page = client.get(f"/mail/f/{inbox.pk}/m/{message.pk}/").content.decode()
    assert "data-actions" in page
    assert 'data-shortcut="e"' in page
    assert 'data-shortcut="?"' in page
    assert 'name="move_to"' in page
    assert "Snooze until" in page
    assert "data-message-actions" in page
    assert "Keyboard shortcuts" in page
    assert "<dialog" in page


def test_an_action_answers_json_for_the_page_script(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    ids = [indexed(mailbox, "First").pk, indexed(mailbox, "Second").pk]

    response = client.post("/mail/actions/", {"action": "archive", "ids": ids}, headers=JSON)

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["done"] == 2
    assert not inbox_of(mailbox).messages.exists()
    assert Folder.objects.get(account=mailbox, role="archive").messages.count() == 2


def test_a_plain_form_moves_by_the_menu_button_and_redirects_back(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    junk = Folder.objects.get(account=mailbox, role="junk")
    message = indexed(mailbox, "First")

    response = client.post("/mail/actions/", {"move_to": junk.pk, "ids": [message.pk], "next": "/mail/"})

    assert response.status_code == 302
    assert response["Location"] == "/mail/"
    assert junk.messages.get().subject == "First"


def test_a_refused_action_answers_in_plain_words(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    message = indexed(mailbox, "First")
    response = client.post("/mail/actions/", {"action": "delete", "ids": [message.pk]}, headers=JSON)
    assert response.status_code == 409
    assert response.json() == {"ok": False, "message": "Deleting for ever needs a confirmation."}
    assert Message.objects.filter(pk=message.pk).exists()


def test_toggle_flag_flags_then_unflags(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    message = indexed(mailbox, "First")
    client.post("/mail/actions/", {"action": "toggleflag", "ids": [message.pk]}, headers=JSON)
    message.refresh_from_db()
    assert message.flagged
    client.post("/mail/actions/", {"action": "toggleflag", "ids": [message.pk]}, headers=JSON)
    message.refresh_from_db()
    assert not message.flagged


def test_snooze_by_form_and_unsnooze_from_the_snoozed_view(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    message = indexed(mailbox, "First")

    response = client.post("/mail/actions/", {"when": "next_week", "ids": [message.pk]}, headers=JSON)

    assert response.json()["ok"] is True
    snooze = Snooze.objects.get()
    assert snooze.wake_at > timezone.now() + timedelta(days=1)
    page = client.get("/mail/snoozed/").content.decode()
    assert "First" in page
    assert "Unsnooze now" in page
    client.post(f"/mail/snoozed/{snooze.pk}/wake/", {"next": "/mail/snoozed/"})
    snooze.refresh_from_db()
    assert snooze.state == SnoozeState.WOKEN
    assert inbox_of(mailbox).messages.filter(subject="First").exists()


def test_folder_pages_create_rename_subscribe_delete(owner: Any, mailbox: Any) -> None:
    client = client_for(owner)
    page = client.get(f"/mail/accounts/{mailbox.pk}/folders/")
    assert page.status_code == 200
    created = client.post(f"/mail/accounts/{mailbox.pk}/folders/create/", {"name": "Clients"}, headers=JSON)
    assert created.json()["ok"], created.json()
    folder = Folder.objects.get(account=mailbox, name="Clients")
    client.post(f"/mail/f/{folder.pk}/rename/", {"name": "Customers"})
    folder.refresh_from_db()
    assert folder.name == "Customers"
    client.post(f"/mail/f/{folder.pk}/subscribe/", {"subscribed": "0"})
    folder.refresh_from_db()
    assert not folder.subscribed
    refused = client.post(f"/mail/f/{folder.pk}/delete/", {}, headers=JSON)
    assert refused.status_code == 409
    client.post(f"/mail/f/{folder.pk}/delete/", {"confirm": "1"})
    assert not Folder.objects.filter(pk=folder.pk).exists()
    client.post(f"/mail/accounts/{mailbox.pk}/folders/settings/", {"archive_by_year": "1"})
    assert mailbox.organise_settings.archive_by_year
    rail = client.get("/mail/folders/rail/").content.decode()
    assert "data-folders" in rail


def test_posts_need_the_csrf_token(owner: Any, mailbox: Any) -> None:
    client = client_for(owner, csrf=True)
    message = indexed(mailbox, "First")
    inbox = inbox_of(mailbox)
    for url, data in [
        ("/mail/actions/", {"action": "archive", "ids": [message.pk]}),
        (f"/mail/f/{inbox.pk}/empty/", {"confirm": "1"}),
        (f"/mail/accounts/{mailbox.pk}/folders/create/", {"name": "X"}),
        (f"/mail/f/{inbox.pk}/rename/", {"name": "X"}),
        (f"/mail/f/{inbox.pk}/delete/", {"confirm": "1"}),
        (f"/mail/f/{inbox.pk}/subscribe/", {"subscribed": "0"}),
        (f"/mail/accounts/{mailbox.pk}/folders/settings/", {"archive_by_year": "1"}),
    ]:
        assert client.post(url, data).status_code == 403, url
    assert inbox.messages.count() == 2


def test_the_outsider_gets_404_on_every_organising_endpoint(outsider: Any, mailbox: Any) -> None:
    client = client_for(outsider)
    message = indexed(mailbox, "First")
    inbox = inbox_of(mailbox)
    trash = Folder.objects.get(account=mailbox, role="trash")
    projects = organise.folder_create(account=mailbox, name="Projects")
    snooze = snoozing.message_snooze(message=indexed(mailbox, "Second"), wake_at=timezone.now() + timedelta(hours=1))
    posts = [
        ("/mail/actions/", {"action": "archive", "ids": [message.pk]}),
        ("/mail/actions/", {"action": "read", "ids": [message.pk]}),
        ("/mail/actions/", {"when": "tomorrow", "ids": [message.pk]}),
        ("/mail/actions/", {"move_to": trash.pk, "ids": [message.pk]}),
        (f"/mail/f/{trash.pk}/empty/", {"confirm": "1"}),
        (f"/mail/accounts/{mailbox.pk}/folders/create/", {"name": "Mine"}),
        (f"/mail/f/{projects.pk}/rename/", {"name": "Mine"}),
        (f"/mail/f/{projects.pk}/delete/", {"confirm": "1"}),
        (f"/mail/f/{projects.pk}/subscribe/", {"subscribed": "0"}),
        (f"/mail/accounts/{mailbox.pk}/folders/settings/", {"archive_by_year": "1"}),
        (f"/mail/snoozed/{snooze.pk}/wake/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert client.get(f"/mail/accounts/{mailbox.pk}/folders/").status_code == 404
    assert "Second" not in client.get("/mail/snoozed/").content.decode()
    assert "Projects" not in client.get("/mail/folders/rail/").content.decode()
    # Nothing changed for the owner.
    assert inbox.messages.get().pk == message.pk
    assert Folder.objects.filter(pk=projects.pk, name="Projects", subscribed=True).exists()
    snooze.refresh_from_db()
    assert snooze.state == SnoozeState.SNOOZED


def test_an_outsider_cannot_move_own_messages_into_someone_elses_folder(
    outsider: Any, mailbox: Any, make_mail_user: Any, mailstack: Any
) -> None:
    other_user = make_mail_user()
    theirs = account_for(outsider, other_user, mailstack)
    deliver(mailstack, other_user, email_message("Theirs"))
    sync(theirs)
    client = client_for(outsider)
    victim_folder = Folder.objects.get(account=mailbox, role="archive")
    response = client.post("/mail/actions/", {"move_to": victim_folder.pk, "ids": [indexed(theirs, "Theirs").pk]})
    assert response.status_code == 404
    assert not victim_folder.messages.exists()


@pytest.mark.parametrize("ids", [["abc"], ["1 OR 1=1"], ["-1"]])
def test_malformed_ids_are_404(owner: Any, mailbox: Any, ids: list[str]) -> None:
    assert client_for(owner).post("/mail/actions/", {"action": "read", "ids": ids}).status_code == 404
