"""The IMAP adapter: the only module that speaks IMAP (through imapclient).

For now it does what the demo seeding and the connection test need: connect (TLS, STARTTLS or
plain, per account), log in, find special-use folders, count and append messages. The sync
engine builds on it later.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from apps.core.crypto import decrypt_secret

if TYPE_CHECKING:
    from apps.mail.models import MailAccount

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0

# RFC 6154 special-use attributes, as imapclient returns them.
SPECIAL_USE = {
    "sent": b"\\Sent",
    "drafts": b"\\Drafts",
    "trash": b"\\Trash",
    "junk": b"\\Junk",
    "archive": b"\\Archive",
}


class ImapError(Exception):
    """Talking to the IMAP server failed. The message is safe to show: it never holds a password."""


class ImapConnectionError(ImapError):
    """The server could not be reached, or the secure channel could not be set up."""


class ImapLoginError(ImapError):
    """The server refused the username or password."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (apps.mail.models.Security)
    username: str
    password: str = field(repr=False)

    @classmethod
    def for_account(cls, account: MailAccount) -> ImapSettings:
        return cls(
            host=account.imap_host,
            port=account.imap_port,
            security=account.imap_security,
            username=account.imap_username,
            password=decrypt_secret(account.imap_password),
        )


class ImapConnection:
    """One logged-in IMAP session: `with ImapConnection(ImapSettings.for_account(a)) as imap: ...`."""

    def __init__(
        self,
        settings: ImapSettings,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._timeout = SocketTimeout(connect=connect_timeout, read=read_timeout)
        self._ssl_context = ssl_context
        self._client: IMAPClient | None = None

    # ------------------------------------------------------------ session
    def open(self) -> None:
        where = f"{self.settings.host}:{self.settings.port}"
        context = self._ssl_context or ssl.create_default_context()
        try:
            client = IMAPClient(
                self.settings.host,
                port=self.settings.port,
                ssl=self.settings.security == "tls",
                ssl_context=context,
                timeout=self._timeout,
            )
        except (OSError, IMAPClientError) as exc:
            raise ImapConnectionError(f"Cannot connect to the IMAP server {where}: {_reason(exc)}") from None
        try:
            if self.settings.security == "starttls":
                if not client.has_capability("STARTTLS"):
                    raise ImapConnectionError(f"The IMAP server {where} does not offer STARTTLS.")
                client.starttls(context)
            # One small packet per command (APPEND waits for "+" before the literal): without
            # TCP_NODELAY, Nagle's algorithm adds a delay to every round trip on some servers.
            client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.login(self.settings.username, self.settings.password)
        except LoginError:
            _quietly_close(client)
            raise ImapLoginError(
                f"The IMAP server {where} refused the login for {self.settings.username!r}: "
                "check the username and password."
            ) from None
        except ImapError:
            _quietly_close(client)
            raise
        except (OSError, IMAPClientError) as exc:
            _quietly_close(client)
            raise ImapConnectionError(f"The IMAP server {where} failed during login: {_reason(exc)}") from None
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            try:
                client.logout()
            except (OSError, IMAPClientError):
                _quietly_close(client)

    def __enter__(self) -> ImapConnection:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise ImapError("The IMAP connection is not open.")
        return self._client

    # ------------------------------------------------------------ operations
    def capabilities(self) -> set[str]:
        return {cap.decode() for cap in self._call(self.client.capabilities)}

    def folder_for_role(self, role: str) -> str | None:
        """The folder the server marks with a special-use attribute (`sent`, `drafts`…), if any."""
        return self._call(self.client.find_special_folder, SPECIAL_USE[role])

    def message_count(self, folder: str) -> int:
        status = self._call(self.client.folder_status, folder, [b"MESSAGES"])
        return int(status[b"MESSAGES"])

    def append(
        self,
        folder: str,
        message: EmailMessage | bytes,
        *,
        flags: tuple[bytes, ...] = (),
        received_at: datetime | None = None,
    ) -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        self._call(self.client.append, folder, raw, flags=flags, msg_time=received_at)

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (OSError, IMAPClientError) as exc:
            raise ImapError(f"The IMAP server {self.settings.host} answered with an error: {_reason(exc)}") from None


def imap_check_login(settings: ImapSettings) -> set[str]:
    """Connects and logs in; returns the server's capabilities. Raises ImapError subclasses."""
    with ImapConnection(settings) as imap:
        return imap.capabilities()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


def _quietly_close(client: IMAPClient) -> None:
    with contextlib.suppress(OSError, IMAPClientError):
        client.shutdown()
