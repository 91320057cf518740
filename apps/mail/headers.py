"""The index fields of a message, from the raw HEADER.FIELDS block and BODYSTRUCTURE of a FETCH.

The sync reads thousands of these per second, so this is a lean splitter rather than the
`email` package (about 8x slower on header blocks): values are decoded only when they hold an
encoded word (`=?`) or non-ASCII bytes, through `apps.mail.addresses`, the shared decoding API.
Nothing here raises on hostile input: junk bytes, absurd dates, huge subjects and missing
fields all become the best value we can store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from apps.mail.addresses import decode_header, display_domain, parse_address_list

# Field sizes of apps.mail.models.Message.
MAX_SUBJECT = 1000
MAX_NAME = 300
MAX_ADDRESS = 320
MAX_ID = 500
MAX_TEXT = 10_000  # references, list-unsubscribe: long but bounded
MAX_ADDRESSES = 100  # per To/Cc/Reply-To: a 5,000-recipient Cc is not worth indexing whole
MAX_REFERENCES = 30  # the first (the root) and the last ones carry the thread

EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

_MONTHS = {
    month: number
    for number, month in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_INTERNALDATE = re.compile(rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MSGID = re.compile(r"<([^<>\s]{1,498})>")
_SCORE = re.compile(r"score=\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_NUMBER = re.compile(r"\s*(-?\d+(?:\.\d+)?)")
# "Name <user@host>" or "user@host" with nothing a full parser is needed for.
_SIMPLE_NAMED = re.compile(r"\s*([^<>\",();:\\@\[\]]*?)\s*<([^<>\s\",();:\\]+@[^<>\s\",();:\\]+)>\s*")
_SIMPLE_BARE = re.compile(r"\s*([^<>\s\",();:\\]+@[^<>\s\",();:\\]+)\s*")
# A list of such addresses, split on its commas: printable ASCII without quotes, comments,
# groups, escapes or domain literals, so a comma can only separate two addresses.
_SIMPLE_LIST = re.compile(r"[^\x00-\x1f\x7f-\uffff\"()\\;:\[\]]*,[^\x00-\x1f\x7f-\uffff\"()\\;:\[\]]*")
# "Tue, 1 Dec 2026 02:04:24 +0000" and what may follow it (a zone comment): RFC 5322's own form.
_PLAIN_DATE = re.compile(
    r"(?:[A-Za-z]{3}, )?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)(?: .*)?", re.DOTALL
)
_SIGNATURES = {
    ("application", "pgp-signature"),
    ("application", "pkcs7-signature"),
    ("application", "x-pkcs7-signature"),
}


@dataclass
class IndexHeaders:
    """What apps.mail.models.Message stores from the headers."""

    subject: str = ""
    from_name: str = ""
    from_address: str = ""
    to: list[list[str]] = field(default_factory=list)
    cc: list[list[str]] = field(default_factory=list)
    reply_to: list[list[str]] = field(default_factory=list)
    date: datetime | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    list_id: str = ""
    list_unsubscribe: str = ""
    list_unsubscribe_post: bool = False
    spam_score: float | None = None
    spam_flag: bool = False


def split_header_block(raw: bytes) -> dict[bytes, bytes]:
    """Header block → {lower-case name: raw value}; folded lines unfolded, the first occurrence wins."""
    fields: dict[bytes, bytes] = {}
    name: bytes | None = None
    parts: list[bytes] = []
    for line in raw.replace(b"\r\n", b"\n").split(b"\n"):
        if not line:
            continue
        if line[0] in b" \t":
            if name is not None:
                parts.append(line)
            continue
        if name is not None and name not in fields:
            fields[name] = b" ".join(p.strip() for p in parts)
        head, colon, value = line.partition(b":")
        if not colon:
            name = None  # junk line: no name, skip it and its continuations
            continue
        name = head.strip().lower()
        parts = [value]
    if name is not None and name not in fields:
        fields[name] = b" ".join(p.strip() for p in parts)
    return fields


def text_value(raw: bytes) -> str:
    """A header value as text: ASCII as is; encoded words and 8-bit bytes decoded (never raises)."""
    if b"=?" not in raw:
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = decode_header(raw)
    else:
        text = decode_header(raw)
    return clean(text)


def clean(text: str) -> str:
    # PostgreSQL refuses NUL in text and JSON; control characters only break lists.
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text.strip()


def addresses(raw: bytes | None) -> list[list[str]]:
    """A To/Cc/From value → [[name, address], ...], capped."""
    if not raw:
        return []
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        simple = _SIMPLE_NAMED.fullmatch(text)
        if simple:
            return [_simple_entry(simple.group(1), simple.group(2))]
        simple = _SIMPLE_BARE.fullmatch(text)
        if simple:
            return [_simple_entry("", simple.group(1))]
        if _SIMPLE_LIST.fullmatch(text):
            listed = _simple_list(text)
            if listed is not None:
                return listed
    return parsed_addresses(raw)


def parsed_addresses(raw: bytes) -> list[list[str]]:
    """`addresses` by the full RFC 5322 parser: what its fast paths must give too (tests compare them)."""
    result = []
    for address in parse_address_list(raw):
        result.append([clean(address.name)[:MAX_NAME], clean(address.address)[:MAX_ADDRESS]])
        if len(result) >= MAX_ADDRESSES:
            break
    return result


def _simple_list(text: str) -> list[list[str]] | None:
    """Comma-separated simple addresses (see _SIMPLE_LIST), read as parse_address_list reads them:
    names with their spaces collapsed and encoded words decoded, IDN domains shown in Unicode,
    empty entries dropped. None when one entry is not that simple: the full parser reads it."""
    result = []
    for part in text.split(","):
        if not part.strip():
            continue
        named = _SIMPLE_NAMED.fullmatch(part)
        if named:
            result.append(_simple_entry(named.group(1), named.group(2)))
        else:
            bare = _SIMPLE_BARE.fullmatch(part)
            if not bare:
                return None
            result.append(_simple_entry("", bare.group(1)))
        if len(result) >= MAX_ADDRESSES:
            break
    return result


def _simple_entry(name: str, address: str) -> list[str]:
    """[name, address] of a simple address as parse_address_list gives it: the name's spaces
    collapsed and its encoded words decoded, an IDN domain in Unicode, control characters out."""
    name = " ".join(name.split())
    if "=?" in name:
        name = decode_header(name)
    local, _at, domain = address.rpartition("@")
    return [clean(name)[:MAX_NAME], clean(f"{local}@{display_domain(domain)}")[:MAX_ADDRESS]]


def message_ids(value: str) -> list[str]:
    """The <id> tokens of a Message-ID / In-Reply-To / References value, without brackets, in order."""
    return _MSGID.findall(value)


def parse_date(raw: bytes | None) -> datetime | None:
    """The Date header as an aware datetime; None when missing, unreadable or absurd."""
    if not raw:
        return None
    text = raw.decode("ascii", "replace")
    try:
        plain = _PLAIN_DATE.fullmatch(text)
        parsed = _plain_date(plain) if plain else parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        parsed = parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if parsed < EARLIEST or parsed > datetime.now(UTC) + FUTURE_SLACK:
        return None
    return parsed


def _plain_date(match: re.Match[str]) -> datetime:
    """What parse_date makes of a _PLAIN_DATE match through email.utils.parsedate_to_datetime,
    without its general tokenizer (a fifth of the index fields' time): the same year, offset
    and -0000 rules, the same errors for impossible values."""
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    number = _MONTHS.get(month.lower())
    if number is None:
        raise ValueError(month)
    years = int(year)
    if years < 100:  # as email.utils: 4 digits that say 0..99 are read as a 2-digit year
        years += 1900 if years > 68 else 2000
    offset = int(off_h) * 3600 + int(off_m) * 60
    moment = (years, number, int(day), int(hour), int(minute), int(second))
    if offset == 0 and sign == "-":
        return datetime(*moment, tzinfo=UTC)  # -0000, "no zone information": parse_date reads it as UTC
    return datetime(*moment, tzinfo=timezone(timedelta(seconds=-offset if sign == "-" else offset)))


def parse_internaldate(raw: bytes | None) -> datetime | None:
    """IMAP INTERNALDATE ("30-Nov-2026 15:41:59 +0000") → aware UTC datetime; None if unreadable."""
    if not raw:
        return None
    match = _INTERNALDATE.match(raw)
    if not match:
        return None
    day, month, year, hour, minute, second, sign, off_h, off_m = match.groups()
    number = _MONTHS.get(month.decode().lower())
    if number is None:
        return None
    try:
        moment = datetime(int(year), number, int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError:
        return None
    offset = timedelta(hours=int(off_h), minutes=int(off_m))
    return moment - offset if sign == b"+" else moment + offset


def index_headers(raw: bytes) -> IndexHeaders:
    """The index fields of one HEADER.FIELDS block."""
    fields = split_header_block(raw)
    headers = IndexHeaders()
    get = fields.get
    value = get(b"subject")
    if value:
        headers.subject = " ".join(text_value(value).split())[:MAX_SUBJECT]
    sender = addresses(get(b"from"))
    if sender:
        headers.from_name, headers.from_address = sender[0][0], sender[0][1]
    headers.to = addresses(get(b"to"))
    headers.cc = addresses(get(b"cc"))
    headers.reply_to = addresses(get(b"reply-to"))
    headers.date = parse_date(get(b"date"))
    value = get(b"message-id")
    if value:
        text = text_value(value)
        ids = message_ids(text)
        headers.message_id = ids[0] if ids else text.strip("<> ")[:MAX_ID]
    value = get(b"in-reply-to")
    if value:
        ids = message_ids(text_value(value))
        headers.in_reply_to = ids[-1] if ids else ""  # the parent is the last one when several
    value = get(b"references")
    if value:
        ids = message_ids(text_value(value))
        if len(ids) > MAX_REFERENCES:
            ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
        headers.references = " ".join(ids)[:MAX_TEXT]
    value = get(b"list-id")
    if value:
        headers.list_id = text_value(value)[:MAX_ID]
    value = get(b"list-unsubscribe")
    if value:
        headers.list_unsubscribe = text_value(value)[:MAX_TEXT]
    value = get(b"list-unsubscribe-post")
    headers.list_unsubscribe_post = bool(value and b"one-click" in value.lower())
    headers.spam_score = spam_score(get(b"x-spam-score"), get(b"x-spam-status"))
    flag = get(b"x-spam-flag")
    status = get(b"x-spam-status")
    headers.spam_flag = bool(
        (flag and flag.strip().lower().startswith(b"yes")) or (status and status.strip().lower().startswith(b"yes"))
    )
    return headers


def spam_score(score: bytes | None, status: bytes | None) -> float | None:
    """X-Spam-Score ("5.2", "5.2 (+++++)") or the score= of X-Spam-Status; None without either."""
    for raw, pattern in ((score, _NUMBER), (status, _SCORE)):
        if not raw:
            continue
        match = (
            pattern.search(raw.decode("ascii", "replace"))
            if pattern is _SCORE
            else pattern.match(raw.decode("ascii", "replace"))
        )
        if match:
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if -1000 < value < 1000:
                return value
    return None


def has_attachments(bodystructure: Any) -> bool:
    """Whether BODYSTRUCTURE shows an attachment.

    An attachment is a part with `Content-Disposition: attachment`, or a leaf that is neither text
    nor multipart and not an inline part of a multipart/related (an HTML message's images). Signatures
    (PGP, S/MIME) are not attachments. Unreadable structures count as none.
    """
    try:
        return _has_attachment(bodystructure, "", 0)
    except (TypeError, IndexError, AttributeError, ValueError):
        return False


def _has_attachment(part: Any, parent_subtype: str, depth: int) -> bool:
    if not isinstance(part, list) or not part or depth > 20:
        return False
    if isinstance(part[0], list):  # multipart: the parts, then the subtype
        subtype = next((_lower(item) for item in part if isinstance(item, bytes)), "")
        return any(_has_attachment(child, subtype, depth + 1) for child in part if isinstance(child, list) and child)
    main, sub = _lower(part[0]), _lower(part[1]) if len(part) > 1 else ""
    # The disposition follows the body fields, whose count depends on the type (RFC 3501 body-type-*).
    if main == "text":
        disposition_at = 9
    elif main == "message" and sub in ("rfc822", "global"):
        disposition_at = 11
    else:
        disposition_at = 8
    disposition = part[disposition_at] if len(part) > disposition_at else None
    if isinstance(disposition, list) and disposition and _lower(disposition[0]) == "attachment":
        return True
    if main in ("text", "multipart") or (main, sub) in _SIGNATURES:
        return False
    return parent_subtype != "related"


def _lower(value: Any) -> str:
    return value.decode("ascii", "replace").lower() if isinstance(value, bytes) else ""
