"""The IMAP adapter against the real Dovecot of the test mail stack."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from apps.mail.imap import (
    ImapConnection,
    ImapConnectionError,
    ImapLoginError,
    ImapSettings,
    imap_check_login,
)
from apps.mail.models import SyncStatus
from apps.mail.services import mail_account_check_connection, mail_account_create, mail_account_set_password
from tests.mailstack import MailStack, MailUser


def _settings(stack: MailStack, user: MailUser, *, password: str | None = None, security: str = "none"):
    return ImapSettings(
        host=stack.host,
        port=stack.ports.imap,
        security=security,
        username=user.address,
        password=user.password if password is None else password,
    )


def test_login_succeeds_with_the_right_password(mailstack: MailStack, mail_user: MailUser) -> None:
    capabilities = imap_check_login(_settings(mailstack, mail_user))

    assert "IMAP4REV1" in capabilities


def test_a_wrong_password_raises_a_clear_login_error(mailstack: MailStack, mail_user: MailUser) -> None:
    with pytest.raises(ImapLoginError) as caught:
        imap_check_login(_settings(mailstack, mail_user, password="wrong-password"))

    message = str(caught.value)
    assert "refused the login" in message
    assert mail_user.address in message
    assert "wrong-password" not in message


def test_the_password_is_not_in_the_settings_repr(mail_user: MailUser, mailstack: MailStack) -> None:
    assert mail_user.password not in repr(_settings(mailstack, mail_user))


def test_a_closed_port_raises_a_connection_error(mailstack: MailStack, mail_user: MailUser) -> None:
    settings = ImapSettings(host="127.0.0.1", port=1, security="none", username="x", password="y")

    with pytest.raises(ImapConnectionError, match="Cannot connect"):
        imap_check_login(settings)


def test_starttls_is_refused_when_the_server_does_not_offer_it(mailstack: MailStack, mail_user: MailUser) -> None:
    # The test stack has no TLS at all: asking for STARTTLS must fail, never fall back to plaintext.
    with pytest.raises(ImapConnectionError, match="STARTTLS"):
        imap_check_login(_settings(mailstack, mail_user, security="starttls"))


def test_implicit_tls_against_a_plaintext_server_fails_clearly(mailstack: MailStack, mail_user: MailUser) -> None:
    with pytest.raises(ImapConnectionError, match="Cannot connect"):
        imap_check_login(_settings(mailstack, mail_user, security="tls"))


def test_appended_messages_are_counted_and_sent_is_found(mailstack: MailStack, mail_user: MailUser) -> None:
    message = EmailMessage()
    message["From"] = mail_user.address
    message["To"] = "friend@example.org"
    message["Subject"] = "Hello"
    message.set_content("Hi!\n")

    with ImapConnection(_settings(mailstack, mail_user)) as imap:
        sent = imap.folder_for_role("sent")
        assert sent == "Sent"
        imap.append(sent, message, flags=(b"\\Seen",))
        assert imap.message_count(sent) == 1
        assert imap.message_count("INBOX") == 0


@pytest.mark.django_db
def test_checking_an_account_records_success_and_failure(owner, mailstack: MailStack, mail_user: MailUser) -> None:
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=mailstack.host,
        imap_port=mailstack.ports.imap,
        imap_security="none",
        imap_password=mail_user.password,
    )

    mail_account_check_connection(account=account)
    account.refresh_from_db()
    assert account.sync_status == SyncStatus.OK
    mail_account_set_password(account=account, imap_password="no-longer-valid")
    with pytest.raises(ImapLoginError):
        mail_account_check_connection(account=account)
    account.refresh_from_db()
    assert account.sync_status == SyncStatus.ERROR
    assert "refused the login" in account.last_error
