"""Sending end to end: composer views → Outbox → Postfix → Dovecot, read back over IMAP; Sent, Drafts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.mail.models import Draft, Folder, Message, Outbox, OutboxState
from apps.mail.outbox import compose_preferences_update, outbox_deliver, outboxes_send_due
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync

pytestmark = pytest.mark.django_db(transaction=True)
JSON: dict[str, Any] = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def sender(owner: Any, make_mail_user: Any, mailstack: Any) -> Any:
    user = make_mail_user()
    account = account_for(owner, user, mailstack)
    sync(account)
    compose_preferences_update(user=owner, undo_seconds=0)
    return account, user


def server_flags(mailstack: Any, user: Any, folder: str) -> list[set[bytes]]:
    with mailstack.imap(user) as imap:
        imap.select_folder(folder, readonly=True)
        uids = imap.search("ALL")
        return [set(flags) for flags in imap.get_flags(uids).values()] if uids else []


def post_send(client: Client, account: Any, **fields: str) -> Any:
    return client.post(reverse("mail:compose_send"), {"account": account.pk, **fields}, **JSON)


def test_a_message_goes_out_lands_in_the_inbox_and_a_seen_copy_in_sent(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, user = sender
    to, hidden = make_mail_user(), make_mail_user()

    response = post_send(
        owner_client, account, to=f'"Doe, Jane" <{to.address}>', bcc=hidden.address, subject="Quarterly", text="Hi Jane"
    )
    assert response.status_code == 200, response.content
    outbox_id = response.json()["outbox"]
    assert outboxes_send_due(now=timezone.now() + timedelta(seconds=1)) == 1

    delivered = mailstack.wait_for_message(to, ["SUBJECT", "Quarterly"])
    assert delivered["To"] == f'"Doe, Jane" <{to.address}>'
    assert delivered["Bcc"] is None
    hidden_copy = mailstack.wait_for_message(hidden, ["SUBJECT", "Quarterly"])
    assert hidden.address not in hidden_copy.as_string()
    sent = Outbox.objects.get(pk=outbox_id)
    assert sent.state == OutboxState.SENT
    assert delivered["Message-ID"] == sent.message_id
    assert [b"\\Seen" in flags for flags in server_flags(mailstack, user, "Sent")] == [True]
    assert Message.objects.filter(folder__role="sent", subject="Quarterly").exists()  # the index followed
    assert not Draft.objects.exists()
    assert server_flags(mailstack, user, "Drafts") == []


def test_server_files_sent_itself_means_no_copy_from_ruche(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, user = sender
    account.server_files_sent = True
    account.save()
    to = make_mail_user()
    post_send(owner_client, account, to=to.address, subject="No copy", text="x")
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    mailstack.wait_for_message(to, ["SUBJECT", "No copy"])
    assert server_flags(mailstack, user, "Sent") == []


def test_a_reply_threads_quotes_below_and_reaches_the_sender(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, user = sender
    sam = make_mail_user()
    deliver(
        mailstack,
        user,
        email_message(
            "Re: Re: Lunch?",
            sender=f"Sam <{sam.address}>",
            to=user.address,
            text="Shall we?",
            Message_ID="<lunch@x.org>",
        ),
    )
    sync(account)
    original = indexed(account, "Re: Re: Lunch?")

    page = owner_client.get(reverse("mail:compose"), {"source": str(original.pk), "kind": "reply"})
    assert page.status_code == 200
    fields = page.context["fields"]
    assert fields.subject == "Re: Lunch?"
    assert fields.to == f"Sam <{sam.address}>"
    assert fields.text.startswith("\n\nOn ")
    assert "Sam wrote:\n> Shall we?" in fields.text
    context = page.context["context"]
    response = post_send(
        owner_client,
        account,
        to=fields.to,
        subject=fields.subject,
        text="Yes!" + fields.text,
        kind="reply",
        source=str(original.pk),
        message_id=context.message_id,
        in_reply_to=context.in_reply_to,
        references=context.references,
    )
    assert response.status_code == 200, response.content
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    reply = mailstack.wait_for_message(sam, ["SUBJECT", "Lunch?"])
    assert reply["In-Reply-To"] == "<lunch@x.org>"
    assert reply["References"] == "<lunch@x.org>"
    assert reply.get_content().replace("\r\n", "\n").startswith("Yes!\n\nOn ")


def test_quote_only_the_selection(owner_client: Client, sender: Any, mailstack: Any) -> None:
    account, user = sender
    deliver(mailstack, user, email_message("Long one", text="First part.\nSecond part."))
    sync(account)
    page = owner_client.get(
        reverse("mail:compose"),
        {"source": str(indexed(account, "Long one").pk), "kind": "reply", "quote": "Second part."},
    )
    assert "> Second part." in page.context["fields"].text
    assert "First part." not in page.context["fields"].text


def test_forward_as_attachment_carries_the_original(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, user = sender
    to = make_mail_user()
    deliver(mailstack, user, email_message("Original", text="The original text."))
    sync(account)
    original = indexed(account, "Original")
    response = post_send(
        owner_client,
        account,
        to=to.address,
        subject="Fwd: Original",
        text="Have a look.",
        kind="forward_attachment",
        source=str(original.pk),
    )
    assert response.status_code == 200, response.content
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    forwarded = mailstack.wait_for_message(to, ["SUBJECT", "Fwd: Original"])
    inner = next(forwarded.iter_attachments())
    assert inner.get_content_type() == "message/rfc822"
    assert "The original text." in inner.get_content().get_content()


def test_a_refused_recipient_fails_with_the_servers_reason_and_keeps_the_draft(
    owner_client: Client, sender: Any, mailstack: Any
) -> None:
    account, _user = sender
    response = post_send(owner_client, account, to="x@-bad-.example", subject="Bad", text="x")
    # Our own check refuses it before the server is asked.
    assert response.status_code == 400
    assert "not a valid address" in response.json()["error"]
    draft = Draft.objects.get()
    # A recipient only the server refuses: its reason in words, the draft kept.
    Draft.objects.filter(pk=draft.pk).update(to="someone@example.org")
    held = Outbox.objects.create(
        owner=draft.owner,
        account=account,
        draft=draft,
        send_at=timezone.now(),
        raw=b"Subject: x\r\n\r\nx\r\n",
        sender=account.email_address,
        recipients=["someone@[300.1.1.1]"],
        message_id="<x@y>",
    )
    assert outbox_deliver(outbox_id=held.pk) is False
    held.refresh_from_db()
    assert held.state == OutboxState.FAILED
    assert "Bad recipient address syntax" in held.error
    assert Draft.objects.filter(pk=draft.pk).exists()
    status = owner_client.get(reverse("mail:outbox_status", args=[held.pk])).json()
    assert status["state"] == "failed"
    assert status["compose_url"] == reverse("mail:compose_draft", args=[draft.pk])


def test_an_unreachable_server_says_so_and_keeps_the_draft(owner_client: Client, sender: Any) -> None:
    account, _user = sender
    account.smtp_port = 1  # nothing listens there
    account.save()
    response = post_send(owner_client, account, to="a@example.org", subject="Offline", text="x")
    outbox_id = response.json()["outbox"]
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    held = Outbox.objects.get(pk=outbox_id)
    assert held.state == OutboxState.FAILED
    assert "Cannot connect to the SMTP server" in held.error
    assert held.draft is not None
    page = owner_client.get(reverse("mail:compose_draft", args=[held.draft_id]))
    assert "Cannot connect to the SMTP server" in page.content.decode()


def test_a_read_receipt_request_reaches_the_recipient(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, _user = sender
    to = make_mail_user()
    post_send(owner_client, account, to=to.address, subject="Receipt", text="x", request_receipt="1")
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    assert mailstack.wait_for_message(to, ["SUBJECT", "Receipt"])["Disposition-Notification-To"] == (
        f"<{account.email_address}>"
    )


def test_sent_addresses_are_suggested_next_time(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, _user = sender
    to = make_mail_user()
    post_send(owner_client, account, to=to.address, subject="Collect", text="x")
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    found = owner_client.get(reverse("mail:recipients_suggest"), {"q": to.address[:6]}).json()["results"]
    assert [r["address"] for r in found] == [to.address]


def test_html_mode_sends_sanitised_html_with_a_text_part(
    owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any
) -> None:
    account, _user = sender
    to = make_mail_user()
    post_send(
        owner_client,
        account,
        to=to.address,
        subject="Rich",
        is_html="1",
        html="<p><b>Bold</b> move<img src=x onerror=alert(1)></p>",
        text="Bold move",
    )
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    rich = mailstack.wait_for_message(to, ["SUBJECT", "Rich"])
    html = rich.get_body(("html",)).get_content()
    assert "<b>Bold</b>" in html
    assert "onerror" not in html
    assert "Bold move" in rich.get_body(("plain",)).get_content()


def test_identities_sign_and_reply_to(owner_client: Client, sender: Any, make_mail_user: Any, mailstack: Any) -> None:
    account, _user = sender
    url = reverse("mail:identities", args=[account.pk])
    response = owner_client.post(
        url,
        {
            "name": "Olivia at Work",
            "email_address": account.email_address,
            "reply_to": "desk@example.org",
            "signature": "Olivia\nRuche Inc.",
            "is_default": "1",
        },
    )
    assert response.status_code == 302
    page = owner_client.get(reverse("mail:compose"), {"account": account.pk})
    assert page.context["fields"].text == "\n-- \nOlivia\nRuche Inc.\n"
    identity_id = page.context["fields"].identity_id
    to = make_mail_user()
    post_send(
        owner_client,
        account,
        to=to.address,
        subject="Signed",
        text="Hello" + page.context["fields"].text,
        identity=str(identity_id),
    )
    outboxes_send_due(now=timezone.now() + timedelta(seconds=1))
    signed = mailstack.wait_for_message(to, ["SUBJECT", "Signed"])
    assert signed["From"] == f"Olivia at Work <{account.email_address}>"
    assert signed["Reply-To"] == "desk@example.org"
    assert Folder.objects.filter(account=account, role="sent").exists()


def test_an_identity_with_a_line_break_or_bad_address_is_refused(owner_client: Client, sender: Any) -> None:
    account, _user = sender
    url = reverse("mail:identities", args=[account.pk])
    response = owner_client.post(url, {"name": "Eve\r\nBcc: x@y.org", "email_address": "eve@example.org"})
    assert response.status_code == 400
    response = owner_client.post(url, {"name": "Eve", "email_address": "not an address"})
    assert response.status_code == 400
