"""The IMAP adapter's write commands: flags, APPEND, MOVE/COPY/EXPUNGE by UID and the folder
tree (create, rename, delete, subscribe).

A mixin of `apps.mail.imap.ImapConnection`, kept apart so the session and its reads (imap.py)
and the changes Ruche makes on the server (here) each stay one readable file. It relies on the
session's `_call`, `_command`, `_ensure_selected`, `select`, `has` and `client`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from apps.mail.imap_parse import _search_string, expand_uid_set, uid_set_from
from apps.mail.imap_types import FolderState, ImapCommandError, ImapSettings

if TYPE_CHECKING:
    from imapclient import IMAPClient


class ImapWriting:
    if TYPE_CHECKING:  # provided by ImapConnection
        settings: ImapSettings
        _selected: tuple[str, bool] | None

        @property
        def client(self) -> IMAPClient: ...
        def has(self, capability: str) -> bool: ...
        def select(self, folder: str, *, readonly: bool = True) -> FolderState: ...
        def _ensure_selected(self, folder: str, *, readonly: bool) -> None: ...
        def _command(self, name: str, *args: str) -> tuple[str, list[Any]]: ...
        def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any: ...

    # ------------------------------------------------------------ writes
    def add_flags(self, folder: str, uids: Sequence[int], flags: Sequence[str]) -> None:
        self._store(folder, uids, "+FLAGS.SILENT", flags)

    def remove_flags(self, folder: str, uids: Sequence[int], flags: Sequence[str]) -> None:
        self._store(folder, uids, "-FLAGS.SILENT", flags)

    def set_flags(self, folder: str, uids: Sequence[int], flags: Sequence[str]) -> None:
        self._store(folder, uids, "FLAGS.SILENT", flags)

    def _store(self, folder: str, uids: Sequence[int], action: str, flags: Sequence[str]) -> None:
        if not uids:
            return
        for flag in flags:
            if not re.fullmatch(r"\\?[A-Za-z0-9$_.\-]+", flag):
                raise ImapCommandError(f"{flag!r} is not a valid IMAP flag.")
        self._ensure_selected(folder, readonly=False)
        self._command("STORE", "STORE", uid_set_from(uids), action, f"({' '.join(flags)})")

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

    # ------------------------------------------------------------ organising (apps.mail.organise)
    def move(self, folder: str, uids: Sequence[int], destination: str) -> dict[int, int]:
        """Moves messages to another folder; returns {source UID: destination UID} as COPYUID tells.

        UID MOVE when the server has MOVE (RFC 6851), else UID COPY, \\Deleted and an expunge of
        exactly those UIDs (UID EXPUNGE with UIDPLUS, else EXPUNGE). UIDs no longer in the folder
        (another client moved them) are simply absent from the answer.
        """
        if not uids:
            return {}
        self._ensure_selected(folder, readonly=False)
        target = self._mailbox(destination)
        if self.has("MOVE"):
            _typ, data = self._command("MOVE", "MOVE", uid_set_from(uids), target)
            return self._copyuid(data, uids)
        mapping = self.copy(folder, uids, destination)
        self.add_flags(folder, uids, ("\\Deleted",))
        self.expunge_uids(folder, uids)
        return mapping

    def copy(self, folder: str, uids: Sequence[int], destination: str) -> dict[int, int]:
        """UID COPY; returns {source UID: destination UID} when the server has UIDPLUS."""
        if not uids:
            return {}
        self._ensure_selected(folder, readonly=False)
        _typ, data = self._command("COPY", "COPY", uid_set_from(uids), self._mailbox(destination))
        return self._copyuid(data, uids)

    def expunge_uids(self, folder: str, uids: Sequence[int]) -> None:
        """Removes these \\Deleted messages for good: UID EXPUNGE (UIDPLUS), else a plain EXPUNGE,
        which also removes what other clients marked \\Deleted in the folder (RFC 3501 has no better)."""
        if not uids:
            return
        self._ensure_selected(folder, readonly=False)
        if self.has("UIDPLUS"):
            self._command("EXPUNGE", "EXPUNGE", uid_set_from(uids))
        else:
            self._call(self.client.expunge)
        self._forget_untagged()

    def delete_uids(self, folder: str, uids: Sequence[int]) -> None:
        """Deletes messages for good (\\Deleted, then an expunge of those UIDs)."""
        self.add_flags(folder, uids, ("\\Deleted",))
        self.expunge_uids(folder, uids)

    def uids_with_message_id(self, folder: str, message_id: str) -> list[int]:
        """UIDs of the folder's messages whose Message-ID header is this one (a retry finds what it moved)."""
        self._ensure_selected(folder, readonly=True)
        found = self._call(self.client.search, [b"HEADER", b"Message-ID", _search_string(message_id)])
        return sorted(int(uid) for uid in found)

    def folder_exists(self, name: str) -> bool:
        return bool(self._call(self.client.folder_exists, name))

    def create_folder(self, name: str) -> None:
        self._call(self.client.create_folder, name)

    def rename_folder(self, name: str, new_name: str) -> None:
        self._leave(name)
        self._call(self.client.rename_folder, name, new_name)

    def delete_folder(self, name: str) -> None:
        self._leave(name)
        self._call(self.client.delete_folder, name)

    def subscribe(self, name: str) -> None:
        self._call(self.client.subscribe_folder, name)

    def unsubscribe(self, name: str) -> None:
        self._call(self.client.unsubscribe_folder, name)

    def _leave(self, name: str) -> None:
        # A folder being renamed or deleted must not stay selected by this session.
        if self._selected is not None and self._selected[0] == name:
            self._selected = None
            if self.has("UNSELECT"):
                self._call(self.client.unselect_folder)
            else:  # CLOSE would expunge: EXAMINE the Inbox instead
                self.select("INBOX", readonly=True)

    def _mailbox(self, name: str) -> str:
        if re.search(r"[\x00-\x1f\x7f]", name):
            raise ImapCommandError(f"{name!r} is not a valid folder name.")
        # Modified UTF-7, quoted: plain ASCII whatever the name.
        return bytes(self.client._normalise_folder(name)).decode("ascii")

    def _copyuid(self, data: list[Any], uids: Sequence[int]) -> dict[int, int]:
        """{source: destination} from a COPYUID response code (tagged for COPY, untagged for MOVE)."""
        codes = [
            match.group(1)
            for item in data
            if isinstance(item, bytes) and (match := re.search(rb"\[COPYUID\s+([^\]]+)\]", item))
        ]
        codes += [item for item in self.client._imap.untagged_responses.pop("COPYUID", []) if isinstance(item, bytes)]
        self._forget_untagged()
        mapping: dict[int, int] = {}
        for code in codes:
            match = re.fullmatch(rb"\s*(\d+)\s+([0-9:,]+)\s+([0-9:,]+)\s*", code)
            if not match:
                continue
            sources, targets = expand_uid_set(match.group(2)), expand_uid_set(match.group(3))
            if len(sources) == len(targets):
                mapping.update(zip(sources, targets, strict=True))
        wanted = {int(uid) for uid in uids}
        return {source: target for source, target in mapping.items() if source in wanted}

    def _forget_untagged(self) -> None:
        # EXPUNGE/OK answers of our own commands pile up in imaplib otherwise (pooled connections).
        for name in ("EXPUNGE", "OK", "VANISHED", "EXISTS", "RECENT", "FETCH"):
            self.client._imap.untagged_responses.pop(name, None)

    # ------------------------------------------------------------ composing (apps.mail.drafts, outbox)
    def append_returning_uid(
        self, folder: str, raw: bytes, *, flags: tuple[bytes, ...] = (), received_at: datetime | None = None
    ) -> int | None:
        """APPEND; the new message's UID from APPENDUID (UIDPLUS), else found by its Message-ID,
        else None (the caller then cannot delete this exact copy later)."""
        answer = self._call(self.client.append, folder, raw, flags=flags, msg_time=received_at)
        text = answer if isinstance(answer, bytes) else str(answer).encode()
        match = re.search(rb"\[APPENDUID\s+\d+\s+(\d+)\]", text)
        if match:
            return int(match.group(1))
        found = re.search(rb"^Message-ID:\s*(<[^>\r\n]+>)", raw, re.IGNORECASE | re.MULTILINE)
        if found:
            if self._selected is not None and self._selected[0] == folder:
                self._selected = None  # a fresh SELECT sees the new message
            uids = self.uids_with_message_id(folder, found.group(1).decode("ascii", "replace"))
            return uids[-1] if uids else None
        return None
