"""The IMAP adapter's vocabulary: its errors and the values its methods return.

Kept apart from apps/mail/imap.py (the session and its commands) so callers and the pure
response parsing (imap_parse.py) can name these types without the connection code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from apps.core.crypto import decrypt_secret

if TYPE_CHECKING:
    from apps.mail.models import MailAccount


class ImapError(Exception):
    """Talking to the IMAP server failed. The message is safe to show: it never holds a password."""


class ImapConnectionError(ImapError):
    """The server could not be reached, the secure channel failed, or the connection dropped."""


class ImapLoginError(ImapError):
    """The server refused the username or password."""


class ImapCommandError(ImapError):
    """The server answered NO or BAD to a command, or sent something we could not read."""


class ImapFolderError(ImapCommandError):
    """The folder cannot be selected (deleted or renamed on the server, or not selectable)."""


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


@dataclass(frozen=True)
class FolderInfo:
    """One mailbox as LIST (and LSUB) describe it."""

    name: str  # modified UTF-7 decoded
    delimiter: str
    attributes: tuple[str, ...]  # as the server sent them, e.g. ("\\HasNoChildren", "\\Sent")
    role: str  # apps.mail.models.FolderRole value: "inbox", "sent"... or ""
    subscribed: bool
    selectable: bool
    # What LIST-STATUS (RFC 5819) said of it in the same answer, when the server offers it: enough
    # for the sync to skip the SELECT of a folder that did not change.
    status: FolderState | None = None


@dataclass(frozen=True)
class FolderState:
    """What SELECT/EXAMINE tells about a folder."""

    name: str
    uidvalidity: int
    uidnext: int | None
    exists: int
    highestmodseq: int | None  # None: the server has no CONDSTORE, or the folder has no mod-sequences


@dataclass(frozen=True)
class FetchedHeaders:
    """One message as the index FETCH returns it (headers still raw: apps.mail.headers reads them)."""

    uid: int
    flags: tuple[str, ...]
    size: int
    internal_date: bytes | None  # the INTERNALDATE string, e.g. b"30-Nov-2026 15:41:59 +0000"
    modseq: int | None
    bodystructure: Any  # nested lists of bytes / None, as the server sent it
    header: bytes


@dataclass(frozen=True)
class FetchedBody:
    """The start of one message, as the body indexer fetches it (all of it when `complete`)."""

    uid: int
    size: int  # RFC822.SIZE: the whole message
    data: bytes

    @property
    def complete(self) -> bool:
        return len(self.data) >= self.size


@dataclass(frozen=True)
class SearchCriteria:
    """A server-side search (UID SEARCH): every condition given must hold.

    Strings match as the server does (Dovecot: case-insensitive substrings); dates compare the
    Date header's day (SENTBEFORE / SENTSINCE).
    """

    words: tuple[str, ...] = ()  # TEXT: anywhere in the headers or the body
    senders: tuple[str, ...] = ()  # FROM
    recipients: tuple[str, ...] = ()  # TO or CC
    subjects: tuple[str, ...] = ()  # SUBJECT
    unseen: bool | None = None
    flagged: bool | None = None
    sent_before: date | None = None
    sent_since: date | None = None
    uids: str = ""  # only these UIDs ("1:499,600"); empty: the whole folder


@dataclass(frozen=True)
class FlagChanges:
    """Flag changes since a mod-sequence, and (with QRESYNC) UIDs expunged since then."""

    flags: dict[int, tuple[str, ...]]
    modseqs: dict[int, int]
    vanished: list[tuple[int, int]]  # UID ranges, inclusive


@dataclass(frozen=True)
class IdleEvent:
    """One untagged response seen while idling: `kind` is "exists", "expunge", "fetch" or "vanished"."""

    kind: str
    number: int = 0  # message count (exists) or sequence number (expunge, fetch)
    uid: int | None = None
    flags: tuple[str, ...] | None = None
    uids: tuple[tuple[int, int], ...] = ()  # vanished UID ranges
