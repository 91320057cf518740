"""Writes for mail accounts. Every caller (admin, views, commands, tests) goes through these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from apps.core.crypto import encrypt_secret
from apps.mail.imap import ImapError, ImapSettings, imap_check_login
from apps.mail.models import MailAccount, SyncStatus

if TYPE_CHECKING:
    from apps.accounts.models import User


@transaction.atomic
def mail_account_create(
    *,
    owner: User,
    email_address: str,
    imap_password: str,
    imap_host: str = "",
    imap_port: int | None = None,
    imap_security: str | None = None,
    imap_username: str = "",
    smtp_host: str = "",
    smtp_port: int | None = None,
    smtp_security: str | None = None,
    smtp_username: str = "",
    smtp_password: str = "",
    sieve_port: int | None = None,
    label: str = "",
    display_name: str = "",
    server_files_sent: bool = False,
) -> MailAccount:
    """Creates an account; what is not given comes from settings.RUCHE_MAIL_DEFAULTS.

    The username defaults to the address, the SMTP server to the IMAP server, and an empty SMTP
    password means "the IMAP password".
    """
    imap_host = imap_host or _default_str("imap_host")
    account = MailAccount(
        owner=owner,
        email_address=email_address,
        label=label,
        display_name=display_name or owner.shown_name,
        imap_host=imap_host,
        imap_port=imap_port or _default_int("imap_port"),
        imap_security=imap_security or _default_str("imap_security"),
        imap_username=imap_username or email_address,
        imap_password=encrypt_secret(imap_password),
        smtp_host=smtp_host or _default_str("smtp_host") or imap_host,
        smtp_port=smtp_port or _default_int("smtp_port"),
        smtp_security=smtp_security or _default_str("smtp_security"),
        smtp_username=smtp_username,
        smtp_password=encrypt_secret(smtp_password),
        sieve_port=sieve_port if sieve_port is not None else _default_int("sieve_port"),
        server_files_sent=server_files_sent,
    )
    account.full_clean()
    account.save()
    return account


def _default_str(name: str) -> str:
    return str(settings.RUCHE_MAIL_DEFAULTS[name])


def _default_int(name: str) -> int:
    value = settings.RUCHE_MAIL_DEFAULTS[name]
    assert isinstance(value, int)
    return value


@transaction.atomic
def mail_account_update_servers(
    *,
    account: MailAccount,
    imap_host: str,
    imap_port: int,
    imap_security: str,
    smtp_host: str,
    smtp_port: int,
    smtp_security: str,
    sieve_port: int | None,
) -> MailAccount:
    account.imap_host = imap_host
    account.imap_port = imap_port
    account.imap_security = imap_security
    account.smtp_host = smtp_host
    account.smtp_port = smtp_port
    account.smtp_security = smtp_security
    account.sieve_port = sieve_port
    account.full_clean()
    account.save()
    return account


def mail_account_set_password(
    *, account: MailAccount, imap_password: str | None = None, smtp_password: str | None = None
) -> None:
    """Stores new passwords, encrypted. None leaves one unchanged; "" clears the SMTP one."""
    fields = ["updated_at"]
    if imap_password is not None:
        account.imap_password = encrypt_secret(imap_password)
        fields.append("imap_password")
    if smtp_password is not None:
        account.smtp_password = encrypt_secret(smtp_password)
        fields.append("smtp_password")
    if len(fields) > 1:
        account.save(update_fields=fields)


def mail_account_check_connection(*, account: MailAccount) -> None:
    """Logs in over IMAP and records the outcome on the account; raises ImapError on failure."""
    try:
        imap_check_login(ImapSettings.for_account(account))
    except ImapError as exc:
        account.sync_status = SyncStatus.ERROR
        account.last_error = str(exc)
        account.save(update_fields=["sync_status", "last_error", "updated_at"])
        raise
    account.sync_status = SyncStatus.OK
    account.last_error = ""
    account.save(update_fields=["sync_status", "last_error", "updated_at"])
