"""smtp_send against the real Postfix submission port: delivered mail is read back from Dovecot."""

from __future__ import annotations

import socket
from email.message import EmailMessage
from pathlib import Path

import pytest

from apps.mail.smtp import (
    SmtpConnectionError,
    SmtpLoginError,
    SmtpMessageTooLargeError,
    SmtpRecipientsRefusedError,
    SmtpRefusedError,
    SmtpSettings,
    SmtpStartTlsMissingError,
    smtp_send,
    smtp_size_limit,
)
from tests.mail.tls_server import make_certificate, tls_relay
from tests.mailstack import MailStack, MailUser


def settings_for(stack: MailStack, user: MailUser, **changes: object) -> SmtpSettings:
    values: dict[str, object] = {
        "host": stack.host,
        "port": stack.ports.submission,
        "security": "none",
        "username": user.address,
        "password": user.password,
    }
    return SmtpSettings(**{**values, **changes})  # type: ignore[arg-type]


def message_bytes(sender: str, to: str, subject: str, body: str = "Hello.") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message.as_bytes()


def test_a_message_sent_reaches_the_recipients_inbox(mailstack, make_mail_user) -> None:
    sender, recipient = make_mail_user(), make_mail_user()

    smtp_send(
        settings_for(mailstack, sender),
        message_bytes(sender.address, recipient.address, "Plain submission"),
        sender=sender.address,
        recipients=[recipient.address],
    )

    delivered = mailstack.wait_for_message(recipient, ["SUBJECT", "Plain submission"])
    assert delivered["From"] == sender.address


def test_the_envelope_decides_who_receives_not_the_headers(mailstack, make_mail_user) -> None:
    sender, visible, hidden = make_mail_user(), make_mail_user(), make_mail_user()

    smtp_send(
        settings_for(mailstack, sender),
        message_bytes(sender.address, visible.address, "Envelope only"),
        sender=sender.address,
        recipients=[visible.address, hidden.address],
    )

    copy = mailstack.wait_for_message(hidden, ["SUBJECT", "Envelope only"])
    assert hidden.address not in str(copy)


def test_implicit_tls_submission_works(mailstack, make_mail_user, tmp_path: Path) -> None:
    sender, recipient = make_mail_user(), make_mail_user()
    certificate = make_certificate(tmp_path, ["localhost"])
    with tls_relay(certificate, mailstack.ports.submission) as port:
        smtp_send(
            settings_for(mailstack, sender, host="localhost", port=port, security="tls"),
            message_bytes(sender.address, recipient.address, "Over TLS"),
            sender=sender.address,
            recipients=[recipient.address],
            ssl_context=certificate.client_context(),
        )

    assert mailstack.wait_for_message(recipient, ["SUBJECT", "Over TLS"])["Subject"] == "Over TLS"


def test_implicit_tls_with_an_untrusted_certificate_is_refused(mailstack, mail_user, tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path, ["localhost"])
    with tls_relay(certificate, mailstack.ports.submission) as port, pytest.raises(SmtpConnectionError) as caught:
        smtp_send(
            settings_for(mailstack, mail_user, host="localhost", port=port, security="tls"),
            message_bytes(mail_user.address, mail_user.address, "Never"),
            sender=mail_user.address,
            recipients=[mail_user.address],
        )
    assert "TLS" in str(caught.value)


def test_starttls_asked_of_a_server_without_it_is_refused_before_login(mailstack, mail_user) -> None:
    with pytest.raises(SmtpStartTlsMissingError):
        smtp_send(
            settings_for(mailstack, mail_user, security="starttls"),
            message_bytes(mail_user.address, mail_user.address, "Never"),
            sender=mail_user.address,
            recipients=[mail_user.address],
        )


def test_a_wrong_password_says_so_without_showing_it(mailstack, mail_user) -> None:
    with pytest.raises(SmtpLoginError) as caught:
        smtp_send(
            settings_for(mailstack, mail_user, password="wrong-secret-123"),
            message_bytes(mail_user.address, mail_user.address, "Never"),
            sender=mail_user.address,
            recipients=[mail_user.address],
        )
    assert "check the username and password" in str(caught.value)
    assert "wrong-secret-123" not in str(caught.value)


def test_a_message_over_the_servers_size_is_refused_before_sending(mailstack, mail_user) -> None:
    limit = smtp_size_limit(settings_for(mailstack, mail_user))
    assert limit == 52428800  # deploy/mailstack/setup.sh: message_size_limit
    body = message_bytes(mail_user.address, mail_user.address, "Too big") + b"x" * limit

    with pytest.raises(SmtpMessageTooLargeError) as caught:
        smtp_send(settings_for(mailstack, mail_user), body, sender=mail_user.address, recipients=[mail_user.address])

    assert caught.value.limit == limit
    assert "accepts at most 52.4 MB" in str(caught.value)


def test_a_refused_recipient_is_named_with_the_reason_and_nobody_receives_it(mailstack, make_mail_user) -> None:
    sender, good = make_mail_user(), make_mail_user()

    with pytest.raises(SmtpRecipientsRefusedError) as caught:
        smtp_send(
            settings_for(mailstack, sender),
            message_bytes(sender.address, good.address, "Half refused"),
            sender=sender.address,
            recipients=[good.address, "x@-bad-.example"],
        )

    assert list(caught.value.refused) == ["x@-bad-.example"]
    assert "Bad recipient address syntax" in caught.value.refused["x@-bad-.example"]
    assert "Nothing was sent" in str(caught.value)
    # The good recipient got nothing: the transaction was reset. A later message arrives alone.
    smtp_send(
        settings_for(mailstack, sender),
        message_bytes(sender.address, good.address, "Second try"),
        sender=sender.address,
        recipients=[good.address],
    )
    mailstack.wait_for_message(good, ["SUBJECT", "Second try"])
    with mailstack.imap(good) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["SUBJECT", "Half refused"]) == []


@pytest.mark.parametrize(
    "recipient", ["a@example.org\r\nRCPT TO:<b@example.org>", "a@example.org>", "<a@example.org", "no-at-sign"]
)
def test_envelope_addresses_that_could_inject_commands_are_refused(mailstack, mail_user, recipient: str) -> None:
    with pytest.raises(SmtpRefusedError):
        smtp_send(
            settings_for(mailstack, mail_user),
            b"Subject: x\r\n\r\nx\r\n",
            sender=mail_user.address,
            recipients=[recipient],
        )


def test_a_closed_port_is_a_connection_error(mailstack, mail_user) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with pytest.raises(SmtpConnectionError) as caught:
        smtp_send(
            settings_for(mailstack, mail_user, port=closed),
            b"Subject: x\r\n\r\nx\r\n",
            sender=mail_user.address,
            recipients=[mail_user.address],
        )
    assert "Cannot connect" in str(caught.value)
