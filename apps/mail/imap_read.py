"""Reading the answer to a UID FETCH off the connection, for the IMAP adapter (apps/mail/imap.py).

imaplib reads every response line through its generic machinery: three regular expressions,
a debug hook and a dictionary append per line, about 40 µs per message of a header FETCH, as
much as parsing it. `fetch_complete` reads the `* n FETCH` responses itself, straight from
imaplib's buffered socket file (a C `readline` per line, `read(n)` per literal), and leaves
every other line to imaplib: the tagged completion, EXISTS/EXPUNGE/VANISHED, OK [...] codes,
BYE. It returns the FETCH data in exactly the shape imaplib's `_untagged_response(..., "FETCH")`
gives (a `(line, literal)` tuple per literal, plain lines otherwise; [] where imaplib says
[None] for no FETCH at all), so imap_parse.parse_fetch_response reads both the same way
(tests/mail/test_imap_read.py compares the two on scripted answers).
"""

from __future__ import annotations

import re
from typing import Any

# "* 12 FETCH " at the start of a response: imaplib's Untagged_status with type FETCH.
_FETCH_START = re.compile(rb"\* (\d+) FETCH(?: |\r\n)")
_PEEK = 64  # bytes looked at before a response is read: "* 4294967295 FETCH " fits easily


def fetch_complete(imap: Any, name: str, tag: bytes) -> tuple[str, list[Any], list[Any]]:
    """Waits for the tagged completion of command `tag` (as imaplib's `_command_complete`);
    returns (type, data, FETCH data), the FETCH data including any received before this command."""
    lines: list[Any] = list(imap.untagged_responses.pop("FETCH", []))
    peek = getattr(imap.file, "peek", None)
    imap._check_bye()
    try:
        while imap.tagged_commands[tag] is None:
            imap._check_bye()
            start = _FETCH_START.match(peek(_PEEK)) if peek is not None else None
            if start is not None:
                _read_fetch(imap, start, lines)
            else:
                imap._get_response()
                lines.extend(imap.untagged_responses.pop("FETCH", ()))
    except imap.abort as exc:
        raise imap.abort(f"command: {name} => {exc}") from None
    except imap.error as exc:
        raise imap.error(f"command: {name} => {exc}") from None
    typ, data = imap.tagged_commands.pop(tag)
    if typ != "OK":  # as with imaplib, a refused command leaves the FETCH data for the next one
        imap.untagged_responses["FETCH"] = lines + imap.untagged_responses.get("FETCH", [])
        lines = []
    imap._check_bye()
    if typ == "BAD":
        raise imap.error(f"{name} command error: {typ} {data}")
    return typ, data, lines


def _read_fetch(imap: Any, start: re.Match[bytes], lines: list[Any]) -> None:
    """Reads one `* n FETCH ...` response with its literals, as imaplib's `_get_response` would."""
    literal_at_end = imap.Literal
    line = _line(imap)
    rest = line[start.end() :]  # empty for "* n FETCH" alone (then start.end() is past the line)
    data = start.group(1) + b" " + rest if rest else start.group(1)
    while (literal := literal_at_end.match(data)) is not None:
        lines.append((data, imap.read(int(literal.group("size")))))
        data = _line(imap)
    lines.append(data)


def _line(imap: Any) -> bytes:
    line = imap.readline()
    if not line:
        raise imap.abort("socket error: EOF")
    if not line.endswith(b"\r\n"):
        raise imap.abort(f"socket error: unterminated line: {line!r}")
    return line[:-2]
