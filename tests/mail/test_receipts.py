"""Read receipts (RFC 8098) and the "received, thank you" reply, through the real Postfix and Dovecot."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.mail import receipts
from apps.mail.models import Message
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    return account_for(owner, mail_user, mailstack)


def asking(account: Any, mailstack: Any, mail_user: Any, sender: Any, subject: str) -> Message:
    deliver(
        mailstack,
        mail_user,
        email_message(
            subject,
            sender=f"Sam <{sender.address}>",
            to=mail_user.address,
            Message_ID=f"<{subject.replace(' ', '-')}@test>",
            Disposition_Notification_To=sender.address,
        ),
    )
    sync(account)
    return indexed(account, subject)


def server_flags(mailstack: Any, mail_user: Any, subject: str) -> set[bytes]:
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        [uid] = imap.search(["SUBJECT", subject])
        return set(imap.get_flags([uid])[uid])


def test_send_a_receipt_the_sender_asked_for(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any
) -> None:
    sender = make_mail_user()
    message = asking(account, mailstack, mail_user, sender, "Contract")
    pane = owner_client.get(reverse("mail:message_pane", args=[message.pk])).content
    assert b"The sender asked for a read receipt" in pane
    assert receipts.MDN_SENT not in list(message.keywords)  # nothing sent by just opening it

    response = owner_client.post(reverse("mail:message_receipt", args=[message.pk]), {"choice": "send"}, follow=True)
    assert b"Read receipt sent to" in response.content

    mdn = mailstack.wait_for_message(sender, ["HEADER", "Content-Type", "disposition-notification"])
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    parts = list(mdn.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/disposition-notification",
        "text/rfc822-headers",
    ]
    fields = parts[1].get_payload()
    fields = fields if isinstance(fields, str) else "".join(str(f) for f in fields)
    assert "Original-Message-ID: <Contract@test>" in fields
    assert "Disposition: manual-action/MDN-sent-manually; displayed" in fields
    assert f"Final-Recipient: rfc822; {mail_user.address}" in fields
    assert b"$MDNSent" in server_flags(mailstack, mail_user, "Contract")
    # Asked once: never again, on any device.
    assert (
        b"The sender asked for a read receipt"
        not in owner_client.get(reverse("mail:message_pane", args=[message.pk])).content
    )


def test_ignore_remembers_the_choice_on_the_server_and_sends_nothing(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any
) -> None:
    sender = make_mail_user()
    message = asking(account, mailstack, mail_user, sender, "Survey")
    owner_client.post(reverse("mail:message_receipt", args=[message.pk]), {"choice": "ignore"})
    assert b"$MDNSent" in server_flags(mailstack, mail_user, "Survey")
    message.refresh_from_db()
    assert receipts.receipt_requested(message=message) == ""
    with mailstack.imap(sender) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["ALL"]) == []


def test_a_message_without_the_request_shows_no_prompt(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any
) -> None:
    deliver(mailstack, mail_user, email_message("Plain"))
    sync(account)
    message = indexed(account, "Plain")
    assert b"read receipt" not in owner_client.get(reverse("mail:message_pane", args=[message.pk])).content
    assert (
        owner_client.post(
            reverse("mail:message_receipt", args=[message.pk]), {"choice": "send"}, follow=True
        ).status_code
        == 200
    )
    assert b"$MDNSent" not in server_flags(mailstack, mail_user, "Plain")


def test_acknowledge_sends_a_short_reply_in_the_persons_language(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any
) -> None:
    sender = make_mail_user()
    message = asking(account, mailstack, mail_user, sender, "Invoice")
    owner_client.post(reverse("mail:message_acknowledge", args=[message.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    reply = mailstack.wait_for_message(sender, ["SUBJECT", "Re: Invoice"])
    assert reply["In-Reply-To"] == "<Invoice@test>"
    assert "Bien reçu, merci." in reply.get_content()
    assert b"\\Answered" in server_flags(mailstack, mail_user, "Invoice")


def test_the_outsider_cannot_send_receipts_or_replies(
    client: Client, outsider: Any, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any
) -> None:
    sender = make_mail_user()
    message = asking(account, mailstack, mail_user, sender, "Secret")
    client.force_login(outsider)
    assert client.post(reverse("mail:message_receipt", args=[message.pk]), {"choice": "send"}).status_code == 404
    assert client.post(reverse("mail:message_receipt", args=[message.pk]), {"choice": "ignore"}).status_code == 404
    assert client.post(reverse("mail:message_acknowledge", args=[message.pk])).status_code == 404
    assert b"$MDNSent" not in server_flags(mailstack, mail_user, "Secret")


def test_opening_a_message_that_asks_reads_it_once(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any, monkeypatch: Any
) -> None:
    """The notice reads the request from the bytes the reader already holds: a message too large
    for the cache would otherwise be fetched from the server twice per open."""
    from apps.mail import bodies

    message = asking(account, mailstack, mail_user, make_mail_user(), "Twice")
    reads: list[int] = []
    message_raw = bodies.message_raw

    def counting(*, message: Message) -> bytes:
        reads.append(message.pk)
        return message_raw(message=message)

    monkeypatch.setattr(bodies, "message_raw", counting)
    pane = owner_client.get(reverse("mail:message_pane", args=[message.pk])).content
    assert b"The sender asked for a read receipt" in pane
    assert reads == [message.pk]
