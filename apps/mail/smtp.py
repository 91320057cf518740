"""The SMTP submission adapter: the only module that speaks SMTP to a user's provider.

For now it only checks that a login works (connect with TLS, STARTTLS or plain, EHLO, AUTH,
QUIT); sending builds on it later. Error messages are safe to show: they never hold a password.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apps.core.crypto import decrypt_secret

if TYPE_CHECKING:
    from apps.mail.models import MailAccount

TIMEOUT = 20.0


class SmtpError(Exception):
    """Talking to the submission server failed. The message is safe to show."""


class SmtpConnectionError(SmtpError):
    """The server could not be reached, or the secure channel could not be set up."""


class SmtpStartTlsMissingError(SmtpConnectionError):
    """STARTTLS was asked for, and the server does not offer it."""


class SmtpAuthUnavailableError(SmtpError):
    """The server offers no authentication on this connection (often: not before STARTTLS)."""


class SmtpLoginError(SmtpError):
    """The server refused the username or password."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (apps.mail.models.Security)
    username: str
    password: str = field(repr=False)

    @classmethod
    def for_account(cls, account: MailAccount) -> SmtpSettings:
        # An empty SMTP password means "the same as for IMAP" (see MailAccount).
        password = account.smtp_password or account.imap_password
        return cls(
            host=account.smtp_host,
            port=account.smtp_port,
            security=account.smtp_security,
            username=account.smtp_login,
            password=decrypt_secret(password),
        )


def smtp_check_login(
    settings: SmtpSettings, *, timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Connects, says EHLO, authenticates and quits. Raises SmtpError subclasses."""
    where = f"{settings.host}:{settings.port}"
    context = ssl_context or ssl.create_default_context()
    client: smtplib.SMTP
    try:
        if settings.security == "tls":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpConnectionError(f"Cannot connect to the SMTP server {where}: {_reason(exc)}") from exc
    try:
        client.ehlo()
        if settings.security == "starttls":
            if not client.has_extn("starttls"):
                raise SmtpStartTlsMissingError(f"The SMTP server {where} does not offer STARTTLS.")
            client.starttls(context=context)
            client.ehlo()
        if not client.has_extn("auth"):
            raise SmtpAuthUnavailableError(f"The SMTP server {where} offers no authentication on this connection.")
        try:
            client.login(settings.username, settings.password)
        except smtplib.SMTPAuthenticationError:
            raise SmtpLoginError(
                f"The SMTP server {where} refused the login for {settings.username!r}: check the username and password."
            ) from None
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    except SmtpError:
        _quietly_close(client)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        _quietly_close(client)
        raise SmtpConnectionError(f"The SMTP server {where} failed during login: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        return f"{exc.smtp_code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


def _quietly_close(client: smtplib.SMTP) -> None:
    with contextlib.suppress(OSError, smtplib.SMTPException):
        client.close()
