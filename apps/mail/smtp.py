"""The SMTP submission adapter: the only module that speaks SMTP to a user's provider.

`smtp_check_login` checks that a login works (connect with TLS, STARTTLS or plain, EHLO, AUTH,
QUIT); `smtp_send` submits one message; `smtp_size_limit` reads the server's SIZE. Error messages
are safe to show: they never hold a password.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from apps.core.crypto import decrypt_secret
from apps.core.tls import default_ssl_context

if TYPE_CHECKING:
    from collections.abc import Sequence

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
    context = ssl_context or default_ssl_context()
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


# ---------------------------------------------------------------- sending
class SmtpRefusedError(SmtpError):
    """The server refused the sender or the message. `temporary` for 4xx answers (try again later)."""

    def __init__(self, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary


class SmtpMessageTooLargeError(SmtpRefusedError):
    """The message is larger than the server accepts (its EHLO SIZE, or a 552 answer)."""

    def __init__(self, message: str, *, limit: int | None, size: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.size = size


class SmtpRecipientsRefusedError(SmtpRefusedError):
    """One or more recipients were refused; nothing was sent. `refused`: {address: server's reason}."""

    def __init__(self, message: str, *, refused: dict[str, str], temporary: bool = False) -> None:
        super().__init__(message, temporary=temporary)
        self.refused = refused


_BAD_ENVELOPE = re.compile(r"[\x00-\x20<>\x7f]")


def smtp_send(
    settings: SmtpSettings,
    message: bytes,
    *,
    sender: str,
    recipients: Sequence[str],
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Submits one message: connect, STARTTLS/TLS and AUTH as the account says, MAIL, RCPT, DATA.

    All or nothing for the recipients: when the server refuses any of them the transaction is
    reset and SmtpRecipientsRefusedError lists each refused address with the server's reason,
    so the person can fix the address and send again without the others receiving it twice.
    The size is checked against the server's EHLO SIZE before anything is sent.
    """
    if not recipients:
        raise SmtpRefusedError("The message has no recipient.")
    for address in (sender, *recipients):
        if _BAD_ENVELOPE.search(address) or (address and "@" not in address):
            raise SmtpRefusedError(f"{address!r} is not a valid address for sending.")
    where = f"{settings.host}:{settings.port}"
    client = _connected(settings, timeout=timeout, ssl_context=ssl_context)
    try:
        _secure(client, settings, ssl_context)
        if not client.has_extn("auth"):
            raise SmtpAuthUnavailableError(f"The SMTP server {where} offers no authentication on this connection.")
        try:
            client.login(settings.username, settings.password)
        except smtplib.SMTPAuthenticationError:
            raise SmtpLoginError(
                f"The SMTP server {where} refused the login for {settings.username!r}: check the username and password."
            ) from None
        _transaction(client, where, message, sender=sender, recipients=recipients)
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    except SmtpError:
        _quietly_close(client)
        raise
    except smtplib.SMTPServerDisconnected as exc:
        _quietly_close(client)
        raise SmtpConnectionError(f"The SMTP server {where} closed the connection: {_reason(exc)}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        _quietly_close(client)
        raise SmtpConnectionError(f"The SMTP server {where} failed while sending: {_reason(exc)}") from exc


def smtp_size_limit(
    settings: SmtpSettings, *, timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> int | None:
    """The largest message the server says it accepts (EHLO SIZE), None when it names no limit."""
    client = _connected(settings, timeout=timeout, ssl_context=ssl_context)
    try:
        _secure(client, settings, ssl_context)
        return _size_limit(client)
    except SmtpError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpConnectionError(f"The SMTP server {settings.host}:{settings.port} failed: {_reason(exc)}") from exc
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
        _quietly_close(client)


def _connected(settings: SmtpSettings, *, timeout: float, ssl_context: ssl.SSLContext | None) -> smtplib.SMTP:
    where = f"{settings.host}:{settings.port}"
    try:
        if settings.security == "tls":
            context = ssl_context or default_ssl_context()
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
        return smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpConnectionError(f"Cannot connect to the SMTP server {where}: {_reason(exc)}") from exc


def _secure(client: smtplib.SMTP, settings: SmtpSettings, ssl_context: ssl.SSLContext | None) -> None:
    """EHLO, and STARTTLS then EHLO again when the account asks for it."""
    where = f"{settings.host}:{settings.port}"
    client.ehlo()
    if settings.security == "starttls":
        if not client.has_extn("starttls"):
            raise SmtpStartTlsMissingError(f"The SMTP server {where} does not offer STARTTLS.")
        client.starttls(context=ssl_context or default_ssl_context())
        client.ehlo()


def _size_limit(client: smtplib.SMTP) -> int | None:
    value = (client.esmtp_features.get("size") or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def _answer(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(words.split())}"


def _transaction(client: smtplib.SMTP, where: str, message: bytes, *, sender: str, recipients: Sequence[str]) -> None:
    size = len(message)
    limit = _size_limit(client)
    if limit is not None and size > limit:
        raise SmtpMessageTooLargeError(
            f"The message is {_megabytes(size)}; the SMTP server {where} accepts at most {_megabytes(limit)}.",
            limit=limit,
            size=size,
        )
    options: list[str] = []
    if limit is not None or client.has_extn("size"):
        options.append(f"SIZE={size}")
    if not message.isascii() and client.has_extn("8bitmime"):
        options.append("BODY=8BITMIME")
    if not all(address.isascii() for address in (sender, *recipients)):
        if not client.has_extn("smtputf8"):
            raise SmtpRefusedError(f"The SMTP server {where} does not accept addresses with non-ASCII letters.")
        options.append("SMTPUTF8")
    code, text = client.mail(sender, options)
    if code != 250:
        client.rset()
        raise _refusal(f"The SMTP server {where} refused the sender {sender}: {_answer(code, text)}", code, size)
    refused: dict[str, str] = {}
    temporary = True
    for recipient in recipients:
        code, text = client.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = _answer(code, text)
            temporary = temporary and 400 <= code < 500
    if refused:
        client.rset()
        listed = "; ".join(f"{address} ({reason})" for address, reason in refused.items())
        raise SmtpRecipientsRefusedError(
            f"The SMTP server {where} refused {len(refused)} recipient(s): {listed}. Nothing was sent.",
            refused=refused,
            temporary=temporary,
        )
    answer: tuple[int, bytes | str]
    try:
        answer = client.data(message)
    except smtplib.SMTPDataError as exc:  # refused before the content (no 354)
        answer = (exc.smtp_code, exc.smtp_error)
    if answer[0] != 250:
        raise _refusal(f"The SMTP server {where} refused the message: {_answer(*answer)}", answer[0], size)


def _refusal(text: str, code: int, size: int) -> SmtpRefusedError:
    if code == 552:
        return SmtpMessageTooLargeError(text, limit=None, size=size)
    return SmtpRefusedError(text, temporary=400 <= code < 500)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
