"""The IMAP adapter: the only module that speaks IMAP (through imapclient).

`ImapConnection` is one logged-in session with intent-named methods: the folder list with
special-use roles, SELECT/EXAMINE state (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ), UID searches,
header FETCH over UID ranges, flag-change FETCH (CONDSTORE/QRESYNC), raw bodies and parts with
BODY.PEEK (never setting \\Seen). Its writes (flags, APPEND, MOVE/COPY/EXPUNGE, the folder tree)
are the `ImapWriting` mixin in imap_write.py, IDLE for the push process the `ImapPush` mixin in
imap_idle.py; its types are in imap_types.py and its pure response parsing in imap_parse.py.

Speed matters for the sync: FETCH responses are read off the socket by imap_read.py (imaplib's
per-line machinery cost as much as parsing) and parsed by imap_parse.py, a small tokenizer made
for FETCH responses, because imapclient's generic parser costs about two thirds of a header FETCH.
Every failure surfaces as an `ImapError` subclass whose message is safe to show to the user (it
never holds a password).
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Sequence
from datetime import date
from types import TracebackType
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from imapclient.imapclient import SocketTimeout

from apps.core.tls import default_ssl_context
from apps.mail.imap_idle import ImapPush
from apps.mail.imap_parse import (  # the adapter's own parsing helpers
    _build,
    _flags,
    _folder_name,
    _int,
    _modseq,
    _search_string,
    _statuses,
    _text,
    _tokens,
    expand_uid_set,
    parse_fetch_response,
    uid_ranges,
    uid_set_from,
)
from apps.mail.imap_read import fetch_complete
from apps.mail.imap_types import (
    FetchedBody,
    FetchedHeaders,
    FlagChanges,
    FolderInfo,
    FolderState,
    IdleEvent,
    ImapCommandError,
    ImapConnectionError,
    ImapError,
    ImapFolderError,
    ImapLoginError,
    ImapSettings,
    SearchCriteria,
)
from apps.mail.imap_write import ImapWriting

# The types live in imap_types.py; callers keep importing them from the adapter.
__all__ = [
    "FetchedBody",
    "FetchedHeaders",
    "FlagChanges",
    "FolderInfo",
    "FolderState",
    "IdleEvent",
    "ImapCommandError",
    "ImapConnection",
    "ImapConnectionError",
    "ImapError",
    "ImapFolderError",
    "ImapLoginError",
    "ImapSettings",
    "SearchCriteria",
    "imap_check_login",
]

CONNECT_TIMEOUT = 15.0
READ_TIMEOUT = 60.0

# imaplib refuses response lines over 1 MB; a plain UID SEARCH ALL of 150k messages is longer.
imaplib._MAXLINE = max(imaplib._MAXLINE, 64 * 1024 * 1024)  # type: ignore[attr-defined]

# RFC 6154 special-use attributes, as imapclient returns them.
SPECIAL_USE = {
    "sent": b"\\Sent",
    "drafts": b"\\Drafts",
    "trash": b"\\Trash",
    "junk": b"\\Junk",
    "archive": b"\\Archive",
}
_ROLE_BY_ATTRIBUTE = {value.decode().lower(): role for role, value in SPECIAL_USE.items()}
_NOT_SELECTABLE = {"\\noselect", "\\nonexistent"}

# What the index needs from each message (apps.mail.headers parses the HEADER.FIELDS block).
INDEX_HEADER_FIELDS = (
    "FROM TO CC REPLY-TO SUBJECT DATE MESSAGE-ID IN-REPLY-TO REFERENCES LIST-ID LIST-UNSUBSCRIBE "
    "LIST-UNSUBSCRIBE-POST X-SPAM-SCORE X-SPAM-FLAG X-SPAM-STATUS CONTENT-TYPE"
)
INDEX_FETCH_ITEMS = f"UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS ({INDEX_HEADER_FIELDS})]"


class ImapConnection(ImapWriting, ImapPush):
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
        self._selected: tuple[str, bool] | None = None  # (folder, read-only)
        self._enabled: set[str] = set()
        self._capabilities: set[str] | None = None

    # ------------------------------------------------------------ session
    def open(self) -> None:
        where = f"{self.settings.host}:{self.settings.port}"
        plain = self.settings.security == "none"
        context = self._ssl_context or (None if plain else default_ssl_context())
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
        self._selected = None
        self._enabled = set()
        self._capabilities = None

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            self._selected = None
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
            raise ImapConnectionError("The IMAP connection is not open.")
        return self._client

    # ------------------------------------------------------------ capabilities
    def capabilities(self) -> set[str]:
        if self._capabilities is None:
            self._capabilities = {cap.decode().upper() for cap in self._call(self.client.capabilities)}
        return set(self._capabilities)

    def has(self, capability: str) -> bool:
        return capability.upper() in self.capabilities()

    def enable_sync_extensions(self) -> set[str]:
        """ENABLE CONDSTORE/QRESYNC when offered (before any SELECT); returns what is active.

        QRESYNC changes how expunges are reported (VANISHED instead of EXPUNGE), so only the sync
        and the push watcher ask for it, not every connection.
        """
        if self._enabled:
            return set(self._enabled)
        wanted = [cap for cap in ("QRESYNC", "CONDSTORE") if self.has(cap)]
        if wanted and self.has("ENABLE") and self._selected is None:
            enabled = self._call(self.client.enable, *wanted)
            self._enabled = {cap.decode().upper() if isinstance(cap, bytes) else str(cap).upper() for cap in enabled}
        elif "CONDSTORE" in wanted:
            self._enabled = {"CONDSTORE"}  # CONDSTORE also starts with the first FETCH MODSEQ
        if "QRESYNC" in self._enabled:
            self._enabled.add("CONDSTORE")  # QRESYNC implies it (RFC 7162)
        return set(self._enabled)

    @property
    def condstore(self) -> bool:
        return "CONDSTORE" in self._enabled

    @property
    def qresync(self) -> bool:
        return "QRESYNC" in self._enabled

    # ------------------------------------------------------------ folders
    def list_folders(self) -> list[FolderInfo]:
        """Every mailbox with its delimiter, attributes, special-use role and subscription."""
        statuses: dict[str, FolderState] = {}
        if self.has("LIST-EXTENDED"):
            returns = ["SUBSCRIBED", "SPECIAL-USE"] if self.has("SPECIAL-USE") else ["SUBSCRIBED"]
            if self.has("LIST-STATUS") and self.condstore:
                returns.append("STATUS (MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)")
            listed = self._list("LIST", '""', '"*"', "RETURN", "(" + " ".join(returns) + ")", statuses=statuses)
            subscribed = {name for attrs, _d, name in listed if "\\subscribed" in {a.lower() for a in attrs}}
        else:
            listed = self._list("LIST", '""', '"*"')
            subscribed = {name for _a, _d, name in self._list("LSUB", '""', '"*"')}
        folders = []
        for attributes, delimiter, name in listed:
            lowered = {a.lower() for a in attributes}
            if "\\nonexistent" in lowered:
                continue  # only a parent in a path (LIST-EXTENDED): nothing to show or select
            is_inbox = name.upper() == "INBOX"
            role = (
                "inbox" if is_inbox else next((_ROLE_BY_ATTRIBUTE[a] for a in lowered if a in _ROLE_BY_ATTRIBUTE), "")
            )
            folders.append(
                FolderInfo(
                    name="INBOX" if is_inbox else name,
                    delimiter=delimiter,
                    attributes=tuple(a for a in attributes if a.lower() != "\\subscribed"),
                    role=role,
                    subscribed=is_inbox or name in subscribed,
                    selectable=not (lowered & _NOT_SELECTABLE),
                    status=statuses.get(name),
                )
            )
        return folders

    def _list(
        self, command: str, *args: str, statuses: dict[str, FolderState] | None = None
    ) -> list[tuple[tuple[str, ...], str, str]]:
        imap = self.client._imap
        imap.untagged_responses.pop("STATUS", None)
        typ, data = self._call(imap._simple_command, command, *args)
        if typ != "OK":
            raise ImapCommandError(f"The IMAP server {self.settings.host} refused to list folders.")
        if statuses is not None:
            _typ, status_lines = imap._untagged_response(typ, data, "STATUS")
            statuses.update(_statuses(status_lines))
        _typ, lines = imap._untagged_response(typ, data, command)
        result = []
        for line in lines:
            if line is None or line == b"":
                continue
            try:
                parsed = _build(_tokens([line]))  # a tuple when the name came as a literal
                attributes, delimiter, name = parsed[0], parsed[1], parsed[2]
            except (IndexError, ValueError):
                continue  # one unreadable line must not hide the other folders
            if not isinstance(attributes, list) or not isinstance(name, bytes):
                continue
            result.append(
                (
                    tuple(_text(a) for a in attributes if isinstance(a, bytes)),
                    _text(delimiter) if isinstance(delimiter, bytes) else "",
                    _folder_name(name),
                )
            )
        return result

    def select(self, folder: str, *, readonly: bool = True) -> FolderState:
        """SELECT (or EXAMINE when read-only) a folder; the sync uses EXAMINE so \\Recent stays untouched."""
        try:
            response = self.client.select_folder(folder, readonly=readonly)
        except IMAPClientError as exc:
            self._selected = None
            if isinstance(exc, imaplib.IMAP4.abort):
                raise ImapConnectionError(
                    f"The connection to the IMAP server {self.settings.host} dropped: {_reason(exc)}"
                ) from None
            raise ImapFolderError(f"The folder {folder!r} cannot be opened on the server: {_reason(exc)}") from None
        except OSError as exc:
            self._selected = None
            raise ImapConnectionError(
                f"The connection to the IMAP server {self.settings.host} dropped: {_reason(exc)}"
            ) from None
        self._selected = (folder, readonly)
        self.client._imap.untagged_responses.pop("VANISHED", None)
        modseq = response.get(b"HIGHESTMODSEQ")
        uidnext = response.get(b"UIDNEXT")
        return FolderState(
            name=folder,
            uidvalidity=int(response.get(b"UIDVALIDITY", 0)),
            uidnext=int(uidnext) if uidnext is not None else None,
            exists=int(response.get(b"EXISTS", 0)),
            highestmodseq=int(modseq) if modseq is not None and not response.get(b"NOMODSEQ") else None,
        )

    def is_selected(self, folder: str, *, readonly: bool = True) -> bool:
        """Whether `folder` is selected now, fit for reads (`readonly`) or for writes too."""
        # A read-write selection serves reads too; a read-only one must be upgraded to write.
        return self._selected is not None and self._selected[0] == folder and (readonly or not self._selected[1])

    def _ensure_selected(self, folder: str, *, readonly: bool) -> None:
        if not self.is_selected(folder, readonly=readonly):
            self.select(folder, readonly=readonly)

    # ------------------------------------------------------------ search
    def search_uids(self, criteria: str = "ALL") -> list[int]:
        """UIDs matching criteria (an IMAP SEARCH string built by our code, e.g. "UID 1:500"), ascending."""
        imap = self.client._imap
        esearch = self.has("ESEARCH")
        args = ["SEARCH", "RETURN", "(ALL)", criteria] if esearch else ["SEARCH", criteria]
        typ, data = self._command("SEARCH", *args)
        name = "ESEARCH" if esearch else "SEARCH"
        _typ, lines = imap._untagged_response(typ, data, name)
        uids: list[int] = []
        for item in lines:
            if not item:
                continue
            line = item[0] if isinstance(item, tuple) else item
            if esearch:
                match = re.search(rb"\bALL\s+([0-9:,]+)", line)
                if match:
                    uids.extend(expand_uid_set(match.group(1)))
            else:
                uids.extend(int(part) for part in line.split() if part.isdigit())
        imap.untagged_responses.pop("SEARCH" if esearch else "ESEARCH", None)
        return sorted(set(uids))

    def search(self, folder: str, criteria: SearchCriteria) -> list[int]:
        """UIDs of the folder's messages matching `criteria`, ascending (UID SEARCH, CHARSET UTF-8 when needed)."""
        if criteria.uids and not re.fullmatch(r"[0-9:,]+", criteria.uids):
            raise ImapCommandError(f"{criteria.uids!r} is not a UID set.")
        self._ensure_selected(folder, readonly=True)
        items: list[bytes | date] = []
        if criteria.uids:
            items += [b"UID", criteria.uids.encode()]
        for name, values in ((b"TEXT", criteria.words), (b"FROM", criteria.senders), (b"SUBJECT", criteria.subjects)):
            for value in values:
                items += [name, _search_string(value)]
        for value in criteria.recipients:
            items += [b"OR", b"TO", _search_string(value), b"CC", _search_string(value)]
        if criteria.unseen is not None:
            items.append(b"UNSEEN" if criteria.unseen else b"SEEN")
        if criteria.flagged is not None:
            items.append(b"FLAGGED" if criteria.flagged else b"UNFLAGGED")
        if criteria.sent_before is not None:
            items += [b"SENTBEFORE", criteria.sent_before]
        if criteria.sent_since is not None:
            items += [b"SENTSINCE", criteria.sent_since]
        if not items:
            items = [b"ALL"]
        # 8-bit strings go as literals (imapclient does that); the server must know their charset.
        eight_bit = any(isinstance(item, bytes) and any(byte > 127 for byte in item) for item in items)
        found = self._call(self.client.search, items, "UTF-8" if eight_bit else None)
        return sorted({int(uid) for uid in found})

    def folder_uids(self, folder: str) -> list[int]:
        self._ensure_selected(folder, readonly=True)
        return self.search_uids("ALL")

    def count_unseen(self, folder: str) -> int:
        self._ensure_selected(folder, readonly=True)
        if not self.has("ESEARCH"):
            return len(self.search_uids("UNSEEN"))
        typ, data = self._command("SEARCH", "SEARCH", "RETURN", "(COUNT)", "UNSEEN")
        _typ, lines = self.client._imap._untagged_response(typ, data, "ESEARCH")
        for item in lines:
            line = item[0] if isinstance(item, tuple) else item
            match = re.search(rb"\bCOUNT\s+(\d+)", line or b"")
            if match:
                return int(match.group(1))
        return 0

    def folder_uidvalidity(self, folder: str) -> int | None:
        """UIDVALIDITY by STATUS, without selecting (to recognise a folder renamed on the server)."""
        try:
            status = self.client.folder_status(folder, [b"UIDVALIDITY"])
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ImapConnectionError(
                f"The connection to the IMAP server {self.settings.host} dropped: {_reason(exc)}"
            ) from None
        except IMAPClientError:
            return None
        value = status.get(b"UIDVALIDITY")
        return int(value) if value is not None else None

    # ------------------------------------------------------------ fetch
    def fetch_headers(self, folder: str, uid_set: str) -> list[FetchedHeaders]:
        """The index data of every message in a UID set ("lo:hi" or "a,b,c:d") of the folder."""
        self._ensure_selected(folder, readonly=True)
        items = INDEX_FETCH_ITEMS.replace("UID FLAGS", "UID FLAGS MODSEQ") if self.condstore else INDEX_FETCH_ITEMS
        messages = []
        for values in self._fetch(uid_set, f"({items})"):
            header = None
            for key, value in values.items():
                if key.startswith(b"BODY["):
                    header = value
                    break
            uid = values.get(b"UID")
            if header is None or uid is None:
                continue  # an unsolicited FETCH (another client changed flags meanwhile)
            messages.append(
                FetchedHeaders(
                    uid=int(uid),
                    flags=_flags(values.get(b"FLAGS")),
                    size=_int(values.get(b"RFC822.SIZE")),
                    internal_date=values.get(b"INTERNALDATE"),
                    modseq=_modseq(values.get(b"MODSEQ")),
                    bodystructure=values.get(b"BODYSTRUCTURE"),
                    header=header if isinstance(header, bytes) else b"",
                )
            )
        return messages

    def fetch_flags(self, folder: str, uid_set: str) -> dict[int, tuple[str, ...]]:
        """Current flags of every message in a UID set (the diff path for servers without CONDSTORE)."""
        self._ensure_selected(folder, readonly=True)
        result: dict[int, tuple[str, ...]] = {}
        for values in self._fetch(uid_set, "(UID FLAGS)"):
            uid = values.get(b"UID")
            if uid is not None and b"FLAGS" in values:
                result[int(uid)] = _flags(values[b"FLAGS"])
        return result

    def fetch_changes(self, folder: str, uid_set: str, *, since_modseq: int) -> FlagChanges:
        """Flags changed since a mod-sequence (CONDSTORE), and the UIDs expunged since (QRESYNC)."""
        self._ensure_selected(folder, readonly=True)
        modifier = (
            f"(CHANGEDSINCE {int(since_modseq)} VANISHED)" if self.qresync else f"(CHANGEDSINCE {int(since_modseq)})"
        )
        flags: dict[int, tuple[str, ...]] = {}
        modseqs: dict[int, int] = {}
        for values in self._fetch(uid_set, "(UID FLAGS MODSEQ)", modifier):
            uid = values.get(b"UID")
            if uid is None or b"FLAGS" not in values:
                continue
            flags[int(uid)] = _flags(values[b"FLAGS"])
            modseq = _modseq(values.get(b"MODSEQ"))
            if modseq is not None:
                modseqs[int(uid)] = modseq
        vanished: list[tuple[int, int]] = []
        for item in self.client._imap.untagged_responses.pop("VANISHED", []):
            line = item[0] if isinstance(item, tuple) else item
            vanished.extend(uid_ranges(line.replace(b"(EARLIER)", b"").strip()))
        return FlagChanges(flags=flags, modseqs=modseqs, vanished=vanished)

    def fetch_bodies(self, folder: str, uids: Sequence[int], *, max_bytes: int) -> list[FetchedBody]:
        """The first `max_bytes` of each message, in one round trip (BODY.PEEK[]<0.N>: never sets \\Seen).

        UIDs no longer in the folder are simply missing from the answer.
        """
        if not uids:
            return []
        self._ensure_selected(folder, readonly=True)
        bodies = []
        for values in self._fetch(uid_set_from(uids), f"(UID RFC822.SIZE BODY.PEEK[]<0.{int(max_bytes)}>)"):
            uid = values.get(b"UID")
            data = next((value for key, value in values.items() if key.startswith(b"BODY[")), None)
            if uid is None or data is None:
                continue  # an unsolicited FETCH (another client changed flags meanwhile)
            bodies.append(
                FetchedBody(
                    uid=int(uid), size=_int(values.get(b"RFC822.SIZE")), data=data if isinstance(data, bytes) else b""
                )
            )
        return bodies

    def fetch_raw(self, folder: str, uid: int) -> bytes:
        """The whole message (BODY.PEEK[]: reading it never sets \\Seen). Raises ImapCommandError if gone."""
        return self.fetch_part(folder, uid, "")

    def fetch_part(self, folder: str, uid: int, part: str) -> bytes:
        """One MIME part by its IMAP section number ("1.2", "2.HEADER"…), with BODY.PEEK."""
        if not re.fullmatch(r"(?:[0-9]+(?:\.[0-9]+)*)?(?:\.?(?:HEADER|TEXT|MIME))?", part, re.IGNORECASE):
            raise ImapCommandError(f"{part!r} is not a message part.")
        self._ensure_selected(folder, readonly=True)
        for values in self._fetch(str(int(uid)), f"(UID BODY.PEEK[{part}])"):
            if values.get(b"UID") is None or int(values[b"UID"]) != int(uid):
                continue
            for key, value in values.items():
                if key.startswith(b"BODY["):
                    return value if isinstance(value, bytes) else b""
        raise ImapCommandError(f"The message {uid} is no longer in the folder {folder!r}.")

    def _fetch(self, uid_set: str, items: str, modifiers: str | None = None) -> list[dict[bytes, Any]]:
        if not re.fullmatch(r"[0-9:*,]+", uid_set):
            raise ImapCommandError(f"{uid_set!r} is not a UID set.")
        args = ["FETCH", uid_set, items] + ([modifiers] if modifiers else [])
        lines: list[Any] = []
        self._command("FETCH", *args, fetched=lines)
        try:
            return parse_fetch_response(lines)
        except (ValueError, IndexError) as exc:
            raise ImapCommandError(
                f"The IMAP server {self.settings.host} sent a FETCH response we cannot read ({exc})."
            ) from None

    def _command(self, name: str, *args: str, fetched: list[Any] | None = None) -> tuple[str, list[Any]]:
        """A UID command sent through imaplib directly (imapclient 4 cannot take UID ranges), answer checked.

        `fetched` receives the FETCH responses, read by imap_read.fetch_complete (faster than imaplib).
        """
        imap = self.client._imap
        try:
            tag = imap._command("UID", *args)
            if fetched is None:
                typ, data = imap._command_complete(name, tag)
            else:
                typ, data, lines = fetch_complete(imap, name, tag)
                fetched.extend(lines)
        except (OSError, imaplib.IMAP4.abort) as exc:
            self._selected = None
            raise ImapConnectionError(
                f"The connection to the IMAP server {self.settings.host} dropped: {_reason(exc)}"
            ) from None
        except IMAPClientError as exc:
            raise ImapCommandError(f"The IMAP server {self.settings.host} refused {name}: {_reason(exc)}") from None
        if typ != "OK":
            detail = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else ""
            raise ImapCommandError(f"The IMAP server {self.settings.host} refused {name}: {detail}")
        return typ, data

    def folder_for_role(self, role: str) -> str | None:
        """The folder the server marks with a special-use attribute (`sent`, `drafts`…), if any."""
        return self._call(self.client.find_special_folder, SPECIAL_USE[role])

    def message_count(self, folder: str) -> int:
        status = self._call(self.client.folder_status, folder, [b"MESSAGES"])
        return int(status[b"MESSAGES"])

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (OSError, imaplib.IMAP4.abort) as exc:
            self._selected = None
            raise ImapConnectionError(
                f"The connection to the IMAP server {self.settings.host} failed: {_reason(exc)}"
            ) from None
        except IMAPClientError as exc:
            raise ImapCommandError(
                f"The IMAP server {self.settings.host} answered with an error: {_reason(exc)}"
            ) from None


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
