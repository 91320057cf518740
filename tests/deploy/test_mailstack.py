"""The test mail stack from deploy/mailstack really behaves like a mail domain."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage

import pytest
from imapclient.exceptions import LoginError

from tests.mailstack import MailStack, MailUser


def _message(*, sender: str, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Hello from the test suite.\n")
    return message


def test_smtp_delivers_through_postfix_to_a_fresh_mailbox(mailstack: MailStack, mail_user: MailUser) -> None:
    subject = f"delivery {uuid.uuid4().hex}"
    with smtplib.SMTP(mailstack.host, mailstack.ports.smtp, timeout=30) as smtp:
        smtp.send_message(_message(sender="someone@example.org", to=mail_user.address, subject=subject))

    received = mailstack.wait_for_message(mail_user, ["SUBJECT", subject])

    assert received["To"] == mail_user.address
    assert received.get_content().strip() == "Hello from the test suite."


def test_submission_refuses_to_relay_without_authentication(mailstack: MailStack, mail_user: MailUser) -> None:
    message = _message(sender=mail_user.address, to="friend@example.org", subject="no auth")
    with (
        smtplib.SMTP(mailstack.host, mailstack.ports.submission, timeout=30) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        smtp.send_message(message)


def test_submission_refuses_a_wrong_password(mailstack: MailStack, mail_user: MailUser) -> None:
    with (
        smtplib.SMTP(mailstack.host, mailstack.ports.submission, timeout=30) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        smtp.login(mail_user.address, "not-the-password")


def test_submission_accepts_authenticated_mail(mailstack: MailStack, make_mail_user) -> None:
    sender, recipient = make_mail_user(), make_mail_user()
    subject = f"submitted {uuid.uuid4().hex}"
    with smtplib.SMTP(mailstack.host, mailstack.ports.submission, timeout=30) as smtp:
        smtp.login(sender.address, sender.password)
        smtp.send_message(_message(sender=sender.address, to=recipient.address, subject=subject))

    received = mailstack.wait_for_message(recipient, ["SUBJECT", subject])

    assert received["From"] == sender.address


def test_mail_to_outside_domains_is_caught_by_the_sink(mailstack: MailStack, mail_user: MailUser) -> None:
    subject = f"outside {uuid.uuid4().hex}"
    with smtplib.SMTP(mailstack.host, mailstack.ports.submission, timeout=30) as smtp:
        smtp.login(mail_user.address, mail_user.password)
        smtp.send_message(_message(sender=mail_user.address, to="someone@example.org", subject=subject))

    received = mailstack.wait_for_message(mailstack.users["sink"], ["SUBJECT", subject])

    assert received["To"] == "someone@example.org"


def test_each_test_gets_a_new_mailbox_with_its_own_password(mailstack: MailStack, make_mail_user) -> None:
    first, second = make_mail_user(), make_mail_user()

    assert first.address != second.address
    client = mailstack.imap(first)
    client.select_folder("INBOX")
    assert client.search(["ALL"]) == []
    client.logout()
    with pytest.raises(LoginError):
        mailstack.imap(MailUser(address=first.address, password=second.password))


def test_new_mailboxes_have_the_special_use_folders(mailstack: MailStack, mail_user: MailUser) -> None:
    client = mailstack.imap(mail_user)
    folders = {name for _flags, _sep, name in client.list_folders()}
    client.logout()

    assert {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"} <= folders
