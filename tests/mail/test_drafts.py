"""Drafts: one server copy per draft (previous version deleted by UID), reopened on any device."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.mail.models import Draft, DraftAttachment
from tests.mail.mailboxes import account_for, deliver, sync

pytestmark = pytest.mark.django_db(transaction=True)
JSON: dict[str, Any] = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    sync(account)
    return account


def drafts_on_server(mailstack: Any, user: Any) -> list[bytes]:
    with mailstack.imap(user) as imap:
        imap.select_folder("Drafts", readonly=True)
        uids = imap.search("ALL")
        return [data[b"BODY[]"] for data in imap.fetch(uids, ["BODY.PEEK[]"]).values()] if uids else []


def test_each_save_replaces_the_server_copy(owner_client: Client, account: Any, mailstack: Any, mail_user: Any) -> None:
    first = owner_client.post(
        reverse("mail:compose_save"),
        {"account": account.pk, "to": "ann@example.org", "bcc": "hidden@example.org", "subject": "v1", "text": "one"},
        **JSON,
    ).json()
    assert first["warning"] == ""
    owner_client.post(
        reverse("mail:compose_save"),
        {"draft": first["draft"], "to": "ann@example.org", "subject": "v2", "text": "two"},
        **JSON,
    )
    copies = drafts_on_server(mailstack, mail_user)
    assert len(copies) == 1
    assert b"Subject: v2" in copies[0]
    draft = Draft.objects.get()
    assert draft.subject == "v2"
    assert draft.server_uid is not None


def test_a_half_written_address_is_kept_locally_and_the_server_copy_still_saved(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any
) -> None:
    saved = owner_client.post(
        reverse("mail:compose_save"), {"account": account.pk, "to": "ann@exa", "subject": "Typing"}, **JSON
    ).json()
    assert Draft.objects.get(pk=saved["draft"]).to == "ann@exa"
    assert len(drafts_on_server(mailstack, mail_user)) == 1


def test_a_draft_written_elsewhere_opens_in_the_composer(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any
) -> None:
    raw = (
        b"From: " + mail_user.address.encode() + b"\r\nTo: Bob <bob@example.org>\r\nBcc: secret@example.org\r\n"
        b"Subject: From my phone\r\nMessage-ID: <phone@example.test>\r\n\r\nStarted on the phone.\r\n"
    )
    deliver(mailstack, mail_user, raw, folder="Drafts")
    sync(account)
    message = account.messages.get(subject="From my phone")

    response = owner_client.get(reverse("mail:draft_open", args=[message.pk]))

    draft = Draft.objects.get()
    assert response["Location"] == reverse("mail:compose_draft", args=[draft.pk])
    assert (draft.to, draft.bcc, draft.message_id) == (
        "Bob <bob@example.org>",
        "secret@example.org",
        "<phone@example.test>",
    )
    page = owner_client.get(response["Location"])
    assert "Started on the phone." in page.content.decode()
    # Saving replaces the phone's copy: still one draft on the server.
    owner_client.post(reverse("mail:compose_save"), {"draft": draft.pk, "subject": "From my phone, edited"}, **JSON)
    copies = drafts_on_server(mailstack, mail_user)
    assert len(copies) == 1
    assert b"edited" in copies[0]
    # The reader offers "Edit draft" for it instead of Reply.
    pane = owner_client.get(reverse("mail:message_pane", args=[message.pk])).content.decode()
    assert "data-edit-draft" in pane


def test_attachments_upload_and_are_refused_past_the_limit(owner_client: Client, account: Any, settings: Any) -> None:
    saved = owner_client.post(reverse("mail:compose_save"), {"account": account.pk, "subject": "Files"}, **JSON).json()
    from django.core.files.uploadedfile import SimpleUploadedFile

    ok = owner_client.post(
        saved["attach_url"], {"file": SimpleUploadedFile("../../notes.txt", b"hello", "text/plain")}, **JSON
    )
    assert ok.status_code == 200
    assert ok.json()["filename"] == "notes.txt"
    assert ok.json()["encoded_size"] == 8
    settings.RUCHE_MAIL_MAX_MESSAGE_MB = 1
    big = owner_client.post(saved["attach_url"], {"file": SimpleUploadedFile("big.bin", b"x" * 800_000)}, **JSON)
    assert big.status_code == 413
    assert "larger than" in big.json()["error"]
    assert list(DraftAttachment.objects.values_list("filename", flat=True)) == ["notes.txt"]


def test_discarding_removes_the_server_copy(owner_client: Client, account: Any, mailstack: Any, mail_user: Any) -> None:
    saved = owner_client.post(reverse("mail:compose_save"), {"account": account.pk, "subject": "Bin"}, **JSON).json()
    owner_client.post(saved["discard_url"], **JSON)
    assert drafts_on_server(mailstack, mail_user) == []
    assert not Draft.objects.exists()


def test_the_outsider_cannot_see_or_change_anything(owner_client: Client, account: Any, outsider: Any) -> None:
    saved = owner_client.post(reverse("mail:compose_save"), {"account": account.pk, "subject": "Mine"}, **JSON).json()
    draft = Draft.objects.get(pk=saved["draft"])
    attachment = DraftAttachment.objects.create(draft=draft, filename="a.txt", data=b"a", size=1)
    sent = owner_client.post(
        reverse("mail:compose_send"),
        {"draft": draft.pk, "to": "a@example.org", "subject": "Mine", "text": "x"},
        **JSON,
    )
    outbox_id = sent.json()["outbox"]
    other = Client()
    other.force_login(outsider)
    assert other.get(reverse("mail:compose_draft", args=[draft.pk])).status_code == 404
    assert other.post(reverse("mail:compose_save"), {"draft": draft.pk, "subject": "Hijack"}).status_code == 404
    assert other.post(reverse("mail:compose_send"), {"draft": draft.pk, "to": "x@example.org"}).status_code == 404
    assert other.post(reverse("mail:compose_save"), {"account": account.pk, "subject": "x"}).status_code == 404
    assert other.post(reverse("mail:compose_attach", args=[draft.pk])).status_code == 404
    assert other.post(reverse("mail:compose_attachment_delete", args=[attachment.pk])).status_code == 404
    assert other.post(reverse("mail:compose_discard", args=[draft.pk])).status_code == 404
    assert other.get(reverse("mail:outbox_status", args=[outbox_id])).status_code == 404
    assert other.post(reverse("mail:outbox_undo", args=[outbox_id])).status_code == 404
    assert other.get(reverse("mail:identities", args=[account.pk])).status_code == 404
    assert other.get(reverse("mail:compose"), {"account": account.pk}).status_code == 404
    message_id = account.messages.values_list("pk", flat=True).first()
    if message_id:
        assert other.get(reverse("mail:draft_open", args=[message_id])).status_code == 404
    assert "Mine" not in other.get(reverse("mail:scheduled_send")).content.decode()
    draft.refresh_from_db()
    assert draft.subject == "Mine"
    assert DraftAttachment.objects.filter(pk=attachment.pk).exists()
