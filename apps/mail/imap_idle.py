"""The IMAP adapter's push commands: NOOP and IDLE, turned into `IdleEvent`s for the push process
(apps.mail.push).

A mixin of `apps.mail.imap.ImapConnection` (see imap_write.py for the pattern); it relies on the
session's `_call`, `_ensure_selected`, `has` and `client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imapclient.imapclient import _parse_untagged_response

from apps.mail.imap_parse import _idle_events
from apps.mail.imap_types import IdleEvent, ImapCommandError, ImapSettings

if TYPE_CHECKING:
    from imapclient import IMAPClient

_PEEK_BYTES = 8192


class ImapPush:
    if TYPE_CHECKING:  # provided by ImapConnection
        settings: ImapSettings

        @property
        def client(self) -> IMAPClient: ...
        def has(self, capability: str) -> bool: ...
        def _ensure_selected(self, folder: str, *, readonly: bool) -> None: ...
        def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any: ...

    def noop(self) -> list[IdleEvent]:
        _answer, responses = self._call(self.client.noop)
        return _idle_events(responses)

    def idle_start(self, folder: str = "INBOX") -> None:
        """Selects the folder (read-only) and enters IDLE; then call idle_check() in a loop."""
        if not self.has("IDLE"):
            raise ImapCommandError(f"The IMAP server {self.settings.host} does not support IDLE.")
        self._ensure_selected(folder, readonly=True)
        self._call(self.client.idle)

    def idle_check(self, timeout: float) -> list[IdleEvent]:
        """Waits up to `timeout` seconds for changes; returns them (empty when nothing happened)."""
        buffered = self._buffered_lines()
        if buffered:
            return _idle_events(buffered)
        return _idle_events(self._call(self.client.idle_check, timeout=timeout))

    def _buffered_lines(self) -> list[Any]:
        """Whole response lines already read from the socket but not yet consumed.

        A change made while we synced is announced right behind IDLE's "+ idling", often in the
        same packet: imaplib's reader buffers it, and imapclient's idle_check, which waits on the
        socket, would not see it until the server spoke again (seconds, or never).
        """
        imap = self.client._imap
        sock = self.client.socket()
        lines = []
        sock.setblocking(False)
        try:
            while True:
                try:
                    pending = imap.file.peek(_PEEK_BYTES)
                except OSError:  # nothing buffered, nothing on the socket (SSL says it its own way)
                    break
                if b"\n" not in pending:
                    break  # nothing, or half a line: the socket wait will see the rest arrive
                lines.append(_parse_untagged_response(imap._get_line()))
        finally:
            sock.setblocking(True)
            self.client._set_read_timeout()
        return lines

    def idle_done(self) -> list[IdleEvent]:
        _answer, responses = self._call(self.client.idle_done)
        return _idle_events(responses)
