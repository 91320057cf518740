"""Reading what an IMAP server says: UID sets, the tokens of a response, FETCH items.

Pure functions, private to the IMAP adapter (apps/mail/imap.py), kept apart so the adapter holds
the session and the commands, and these can be tested on bytes alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from imapclient.imap_utf7 import decode as decode_utf7

from apps.mail.imap_types import FolderState, IdleEvent


def uid_ranges(text: bytes | str) -> list[tuple[int, int]]:
    """An IMAP sequence set ("1:5,7,9:12") as inclusive ranges; `*` and junk are skipped."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    ranges = []
    for part in text.split(","):
        low, _sep, high = part.strip().partition(":")
        if not low.isdigit() or (high and not high.isdigit()):
            continue
        a, b = int(low), int(high or low)
        ranges.append((min(a, b), max(a, b)))
    return ranges


def expand_uid_set(text: bytes | str) -> list[int]:
    return [uid for low, high in uid_ranges(text) for uid in range(low, high + 1)]


def uid_set_from(uids: Iterable[int]) -> str:
    """Sorted UIDs as a compact set: [1, 2, 3, 7] → "1:3,7" (short command lines for big batches)."""
    parts: list[str] = []
    start = previous = None
    for uid in sorted(set(uids)):
        if previous is not None and uid == previous + 1:
            previous = uid
            continue
        if start is not None:
            parts.append(f"{start}:{previous}" if previous != start else str(start))
        start = previous = uid
    if start is not None:
        parts.append(f"{start}:{previous}" if previous != start else str(start))
    return ",".join(parts)


# ---------------------------------------------------------------- FETCH response parser
# One token per match: "(" | ")" | "quoted" | {literal} at the end of a chunk | atom (with an
# optional [section]<partial>, e.g. BODY[HEADER.FIELDS (FROM TO)]) | any other single character.
_TOKEN = re.compile(
    rb'[ \t]*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|\{(\d+)\+?\}$|([^\s()"\[\]{]+(?:\[[^\]]*\](?:<\d+>)?)?)|(\S))'
)
_OPEN, _CLOSE, _QUOTED, _LITERAL, _ATOM, _OTHER = 1, 2, 3, 4, 5, 6
_LITERAL_TOKEN = object()


def _tokens(lines: Iterable[Any]) -> Iterator[tuple[int, Any]]:
    for line in lines:
        if isinstance(line, tuple):
            text, literal = line[0], line[1]
        else:
            text, literal = line, None
        if text is None:
            continue
        for match in _TOKEN.finditer(text):
            kind = match.lastindex
            if kind == _LITERAL:
                if literal is not None:
                    yield _LITERAL, literal
                    literal = None
                continue
            if kind is None:
                continue
            yield kind, match.group(kind)
        if literal is not None:  # a literal whose marker we did not see: keep the data anyway
            yield _LITERAL, literal


def _build(tokens: Iterable[tuple[int, Any]]) -> list[Any]:
    """Tokens → nested lists: atoms and strings as bytes, NIL as None."""
    root: list[Any] = []
    stack = [root]
    current = root
    for kind, value in tokens:
        if kind == _OPEN:
            child: list[Any] = []
            current.append(child)
            stack.append(child)
            current = child
        elif kind == _CLOSE:
            if len(stack) > 1:
                stack.pop()
                current = stack[-1]
        elif kind == _QUOTED:
            current.append(_unquote(value) if b"\\" in value else value)
        elif kind == _ATOM:
            current.append(None if value == b"NIL" else value)
        else:
            current.append(value)
    return root


def _unquote(value: bytes) -> bytes:
    return re.sub(rb"\\(.)", rb"\1", value)


# The same tokens as _TOKEN, for `findall`: one group per kind, exactly one of them non-empty
# (the quoted string keeps its quotes, so that "" is not mistaken for a missing group).
_FETCH_TOKENS = re.compile(
    rb'[ \t]*(?:([^\s()"\[\]{]+(?:\[[^\]]*\](?:<\d+>)?)?)|(\()|(\))|("(?:[^"\\]|\\.)*")|\{(\d+)\+?\}$|(\S))'
)


def parse_fetch_response(lines: Iterable[Any]) -> list[dict[bytes, Any]]:  # noqa: PLR0912 - one flat loop: the fast path
    """imaplib's FETCH data (lines and (line, literal) tuples) → one dict per message, keys upper-case.

    Each message is `seq (KEY value KEY value …)`; a message ends when its list closes, so a
    literal in the middle (the header block, a file name) is handled wherever it is.

    The sync reads thousands of messages a second through here: the tokens come from one
    `findall` per line (the same tokens `_tokens` yields, without a generator step per token).
    """
    messages: list[dict[bytes, Any]] = []
    depth = 0
    stack: list[list[Any]] = []
    current: list[Any] = []
    findall = _FETCH_TOKENS.findall
    for line in lines:
        if isinstance(line, tuple):
            text, literal = line[0], line[1]
        else:
            text, literal = line, None
        if text is None:
            continue
        for atom, opened, closed, quoted, marker, other in findall(text):
            if atom:
                if depth:
                    current.append(None if atom == b"NIL" else atom)
            elif opened:
                child: list[Any] = []
                if depth:
                    current.append(child)
                    stack.append(current)
                current = child
                depth += 1
            elif closed:
                if depth == 0:
                    continue
                depth -= 1
                if depth == 0:
                    messages.append(_pairs(current))
                    current = []
                else:
                    current = stack.pop()
            elif quoted:
                if depth:
                    value = quoted[1:-1]
                    current.append(_unquote(value) if b"\\" in value else value)
            elif marker:
                if literal is not None:
                    if depth:
                        current.append(literal)
                    literal = None
            elif depth:
                current.append(other)
        if literal is not None and depth:  # a literal whose marker we did not see: keep the data anyway
            current.append(literal)
    return messages


def _pairs(items: list[Any]) -> dict[bytes, Any]:
    values: dict[bytes, Any] = {}
    pairs = iter(items)
    for key, value in zip(pairs, pairs, strict=False):  # an odd last item has no value: dropped
        if isinstance(key, bytes):
            values[key.upper()] = value
    return values


def _flags(value: Any) -> tuple[str, ...]:
    # \Recent belongs to one session (RFC 3501) and cannot be stored or set: left out.
    if not isinstance(value, list):
        return ()
    return tuple(
        flag.decode("utf-8", "replace") for flag in value if isinstance(flag, bytes) and flag.lower() != b"\\recent"
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _modseq(value: Any) -> int | None:
    if isinstance(value, list) and value:
        value = value[0]
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _search_string(value: str) -> bytes:
    # A search string may not hold CR, LF or NUL; other control characters only confuse servers.
    return re.sub(r"[\x00-\x1f\x7f]", " ", value).strip().encode("utf-8")


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _folder_name(value: bytes) -> str:
    try:
        return str(decode_utf7(value))
    except Exception:  # a server sending bad modified UTF-7: show what we can
        return value.decode("utf-8", "replace")


def _statuses(lines: Iterable[Any]) -> dict[str, FolderState]:
    """`* STATUS name (MESSAGES n UIDNEXT n UIDVALIDITY n HIGHESTMODSEQ n)` lines, by folder name."""
    result: dict[str, FolderState] = {}
    for line in lines:
        if not line:
            continue
        try:
            parsed = _build(_tokens([line]))
            name, items = parsed[0], parsed[1]
            values = {_text(items[i]).upper(): int(items[i + 1]) for i in range(0, len(items) - 1, 2)}
        except (IndexError, ValueError, TypeError):
            continue  # an unreadable status only costs that folder its SELECT
        if not isinstance(name, bytes) or "UIDVALIDITY" not in values:
            continue
        folder = _folder_name(name)
        folder = "INBOX" if folder.upper() == "INBOX" else folder
        result[folder] = FolderState(
            name=folder,
            uidvalidity=values["UIDVALIDITY"],
            uidnext=values.get("UIDNEXT"),
            exists=values.get("MESSAGES", 0),
            highestmodseq=values.get("HIGHESTMODSEQ") or None,
        )
    return result


def _idle_events(responses: Iterable[Any]) -> list[IdleEvent]:
    """imapclient's parsed untagged responses → IdleEvents (other responses are ignored)."""
    events = []
    for response in responses:
        if not isinstance(response, tuple) or len(response) < 2:
            continue
        first, second = response[0], response[1]
        if isinstance(first, int) and second == b"EXISTS":
            events.append(IdleEvent(kind="exists", number=first))
        elif isinstance(first, int) and second == b"EXPUNGE":
            events.append(IdleEvent(kind="expunge", number=first))
        elif isinstance(first, int) and second == b"FETCH" and len(response) > 2:
            data = response[2]
            values = dict(zip(data[::2], data[1::2], strict=False)) if isinstance(data, tuple) else {}
            uid = values.get(b"UID")
            flags = values.get(b"FLAGS")
            events.append(
                IdleEvent(
                    kind="fetch",
                    number=first,
                    uid=int(uid) if isinstance(uid, int) else None,
                    flags=tuple(f.decode("utf-8", "replace") for f in flags) if isinstance(flags, tuple) else None,
                )
            )
        elif first == b"VANISHED":
            rest = b" ".join(
                str(item).encode() if isinstance(item, int) else item
                for item in response[1:]
                if isinstance(item, bytes | int)
            )
            events.append(IdleEvent(kind="vanished", uids=tuple(uid_ranges(rest))))
    return events
