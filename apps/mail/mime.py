"""A raw RFC 822 message → what the reading pane shows. Never raises, whatever the bytes.

`parse_message` is the production rendering path: the reading view and `manage.py mail_render`
both call it. Parts are numbered like IMAP BODY sections ("1", "2.1", "2.1.3"; the body of a
non-multipart message is "1"; the parts of an attached message continue its number), so a part
can be found again in the same raw bytes (`part_bytes`) or fetched alone from the server.

The MIME structure comes from the `email` package (policy.default, falling back to compat32
when it raises); header values and parameters are decoded by our own tolerant helpers
(`apps.mail.addresses`, compat32 parameter parsing) because strangers' headers break the
header registry of policy.default in many small ways.
"""

from __future__ import annotations

import email.message
import email.utils
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry
from email.parser import BytesParser
from functools import lru_cache
from io import BytesIO

from django.utils.translation import gettext as _

from apps.mail.addresses import Address, decode_bytes, decode_header, parse_address_list, unescape_8bit
from apps.mail.mime_text import _decode_text, _defect_message, safe_filename
from apps.mail.quoting import text_to_html, unflow
from apps.mail.sanitize import HtmlTooComplexError, RemotePolicy, html_to_text, sanitize_html

__all__ = ["Attachment", "RenderedMessage", "message_text", "parse_message", "part_bytes", "safe_filename"]

BODY_DISPLAY_MAX = 4 * 1024 * 1024  # characters of one text/HTML part shown; the rest is cut
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SERIALIZE_POLICY = policy.default.clone(refold_source="none", linesep="\r\n")

Message = email.message.Message


@dataclass(frozen=True)
class Attachment:
    part_id: str  # IMAP-style section number, for part_bytes() or BODY.PEEK[part_id]
    filename: str  # safe to offer as a download name: no directories, controls or reserved names
    content_type: str
    size: int  # decoded bytes
    content_id: str  # without <>; "" when absent
    disposition: str  # "attachment", "inline" or ""
    inline: bool  # shown inside the body (an image of a multipart/related, or disposition inline)

    @property
    def is_message(self) -> bool:
        return self.content_type == "message/rfc822"


@dataclass
class RenderedMessage:
    subject: str = ""
    date: datetime | None = None
    from_: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    message_id: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)  # every header, decoded, in order
    text: str = ""  # the plain text (text/plain part, or derived from the HTML)
    html: str = ""  # exactly what the message frame receives (sanitised HTML, or the text as HTML)
    body_is_html: bool = False  # the sender wrote HTML (False: `html` is our rendering of `text`)
    attachments: list[Attachment] = field(default_factory=list)
    has_remote_content: bool = False  # remote images/CSS were present (blocked, or proxied)
    errors: list[str] = field(default_factory=list)  # what could not be parsed, in words

    def attachment(self, part_id: str) -> Attachment | None:
        return next((a for a in self.attachments if a.part_id == part_id), None)

    def part_for_content_id(self, content_id: str) -> Attachment | None:
        content_id = content_id.strip().strip("<>")
        return next((a for a in self.attachments if a.content_id and a.content_id == content_id), None)


# --- parsing ---------------------------------------------------------------------------------


class _SharedHeaders(HeaderRegistry):
    """policy.default's header objects, each distinct name and value parsed once per process.

    The registry builds a new class and parses the value again each time a header is read, and
    the parser itself reads a part's Content-Type about ten times: two thirds of parsing a
    message went there. The objects are read-only (their parameters are a mapping proxy), so
    sharing them between messages changes nothing but the cost.
    """

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > _SHARED_HEADER_MAX:  # a stranger's huge header is parsed, not kept
            return super().__call__(name, value)
        return _shared_header(name, value)


_SHARED_HEADER_MAX = 1000
_REGISTRY = HeaderRegistry()


@lru_cache(maxsize=4096)
def _shared_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)


_PARSE_POLICY = policy.default.clone(header_factory=_SharedHeaders())


def _parse(raw: bytes, errors: list[str]) -> Message:
    try:
        return BytesParser(policy=_PARSE_POLICY).parsebytes(raw)
    except Exception:  # the header registry raises on some malformed headers
        errors.append(_("Some headers are malformed; the message was read in compatibility mode."))
    try:
        return BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception:
        errors.append(_("The message structure could not be read; only its raw text is shown."))
        fallback = email.message.Message()
        fallback.set_payload(raw.decode("latin-1"))
        return fallback


def _raw_headers(part: Message) -> list[tuple[str, str]]:
    return [(str(name), str(value)) for name, value in part.raw_items()]


def _raw(part: Message, name: str) -> str | None:
    name = name.lower()
    for key, value in part.raw_items():
        if key.lower() == name:
            return str(value)
    return None


class _Params:
    """Content-Type / Content-Disposition parameters read with compat32's tolerant parser."""

    def __init__(self, part: Message) -> None:
        self.message = email.message.Message()
        for name, value in part.raw_items():
            if name.lower() in ("content-type", "content-disposition"):
                # compat32 would turn 8-bit bytes into U+FFFD: decode them first.
                self.message[name] = unescape_8bit(str(value))
        self.has_content_type = "content-type" in self.message

    def content_type(self, default: str = "text/plain") -> str:
        if not self.has_content_type:
            return default
        try:
            ctype = self.message.get_content_type()
        except Exception:
            return "text/plain"
        return ctype if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", ctype) else "application/octet-stream"

    def get(self, name: str, header: str = "content-type") -> str:
        try:
            value = self.message.get_param(name, header=header)
        except Exception:
            return ""
        if isinstance(value, tuple):
            value = email.utils.collapse_rfc2231_value(value)
        return decode_header(str(value)) if value else ""

    def charset(self) -> str | None:
        try:
            charset = self.message.get_content_charset()
        except Exception:
            return None
        return str(charset).strip().lower() if charset else None

    def disposition(self) -> str:
        try:
            value = self.message.get_content_disposition()
        except Exception:
            return ""
        return value or ""

    def filename(self) -> str:
        try:
            name = self.message.get_filename()
        except Exception:
            name = None
        if name is None:
            name = self.get("name")
        return decode_header(name) if name else ""


def _is_multipart(part: Message) -> bool:
    return part.is_multipart() and isinstance(part.get_payload(), list)


def _iter_parts(entity: Message, prefix: str, *, is_message: bool) -> Iterator[tuple[str, Message]]:
    """Every entity with its IMAP section number (the same numbering the renderer uses)."""
    if _is_multipart(entity) and _Params(entity).content_type() != "message/rfc822":
        for index, child in enumerate(entity.get_payload(), 1):
            child_id = f"{prefix}.{index}" if prefix else str(index)
            yield child_id, child
            yield from _descend(child, child_id)
    elif is_message:
        yield (f"{prefix}.1" if prefix else "1"), entity


def _descend(part: Message, part_id: str) -> Iterator[tuple[str, Message]]:
    inner = _encapsulated(part)
    if inner is not None:
        yield from _iter_parts(inner, part_id, is_message=True)
    elif _is_multipart(part):
        yield from _iter_parts(part, part_id, is_message=False)


def _encapsulated(part: Message) -> Message | None:
    if _Params(part).content_type() != "message/rfc822":
        return None
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message):
        return payload[0]
    return None


def _serialize(message: Message) -> bytes:
    buffer = BytesIO()
    try:
        # typeshed wants an EmailMessage; the generator only walks the tree, compat32 messages included.
        BytesGenerator(buffer, mangle_from_=False, policy=_SERIALIZE_POLICY).flatten(message)  # type: ignore[arg-type]
    except Exception:
        buffer = BytesIO()
        BytesGenerator(buffer, mangle_from_=False, policy=policy.compat32).flatten(message)
    return buffer.getvalue()


def _decoded_payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def part_bytes(raw: bytes, part_id: str) -> tuple[str, str, bytes]:
    """(content type, safe file name, decoded bytes) of one part; an attached message as .eml bytes.

    `part_id` is a section number ("2.1") or "cid:<content-id>" (an inline image referenced by
    the HTML). Raises KeyError when the message has no such part.
    """
    message = _parse(raw, [])
    wanted_cid = part_id[4:].strip().strip("<>") if part_id.startswith("cid:") else None
    for candidate_id, part in _iter_parts(message, "", is_message=True):
        if wanted_cid is not None:
            if not wanted_cid or decode_header(_raw(part, "content-id")).strip().strip("<>").strip() != wanted_cid:
                continue
        elif candidate_id != part_id:
            continue
        params = _Params(part)
        content_type = params.content_type()
        inner = _encapsulated(part)
        data = _serialize(inner) if inner is not None else _serialized_or_decoded(part)
        return content_type, _attachment_filename(part, params, content_type, candidate_id), data
    raise KeyError(part_id)


def _serialized_or_decoded(part: Message) -> bytes:
    return _serialize(part) if _is_multipart(part) else _decoded_payload(part)


# --- names -----------------------------------------------------------------------------------


def _attachment_filename(part: Message, params: _Params, content_type: str, part_id: str) -> str:
    name = params.filename()
    if not name and content_type == "message/rfc822":
        inner = _encapsulated(part)
        subject = decode_header(_raw(inner, "subject")) if inner is not None else ""
        name = f"{subject or _('message')}.eml"
    return safe_filename(name, content_type=content_type, fallback=f"part-{part_id}")


# --- body and attachments --------------------------------------------------------------------


@dataclass
class _Piece:
    text: str | None = None
    html: str | None = None


class _Collector:
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        self.pieces: list[_Piece] = []
        self.attachments: list[Attachment] = []

    # A body candidate is a text part meant to be read, not downloaded.
    def _is_body_leaf(self, part: Message, params: _Params, content_type: str) -> bool:
        return (
            content_type in ("text/plain", "text/html")
            and params.disposition() != "attachment"
            and not params.filename()
        )

    def _text_of(self, part: Message, params: _Params) -> str:
        text = _decode_text(_decoded_payload(part), params.charset(), self.errors)
        text = _TEXT_CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        if len(text) > BODY_DISPLAY_MAX:
            self.errors.append(_("The message text is too long to show in full; it was cut."))
            text = text[:BODY_DISPLAY_MAX]
        return text

    def _leaf_piece(self, part: Message, params: _Params, content_type: str) -> _Piece:
        text = self._text_of(part, params)
        if content_type == "text/html":
            return _Piece(html=text)
        if params.get("format").lower() == "flowed":
            text = unflow(text, delsp=params.get("delsp").lower() == "yes")
        return _Piece(text=text)

    def attach(self, part: Message, part_id: str, *, inline_resource: bool = False) -> None:
        params = _Params(part)
        content_type = params.content_type()
        inner = _encapsulated(part)
        size = len(_serialize(inner)) if inner is not None else len(_serialized_or_decoded(part))
        disposition = params.disposition()
        content_id = (_raw(part, "content-id") or "").strip().strip("<>").strip()
        self.attachments.append(
            Attachment(
                part_id=part_id,
                filename=_attachment_filename(part, params, content_type, part_id),
                content_type=content_type,
                size=size,
                content_id=decode_header(content_id),
                disposition=disposition,
                inline=(inline_resource and bool(content_id)) or disposition == "inline",
            )
        )

    def walk(self, part: Message, part_id: str, *, is_message: bool) -> None:
        """Collects body pieces and attachments of an entity; part_id "" is the top message."""
        params = _Params(part)
        content_type = params.content_type()
        if _is_multipart(part) and content_type != "message/rfc822":
            children = [
                (f"{part_id}.{index}" if part_id else str(index), child)
                for index, child in enumerate(part.get_payload(), 1)
            ]
            subtype = content_type.split("/", 1)[1] if content_type.startswith("multipart/") else "mixed"
            if subtype == "alternative":
                self._alternative(children)
            elif subtype == "related":
                self._related(children, params)
            else:
                self._mixed(children)
            return
        leaf_id = (f"{part_id}.1" if part_id else "1") if is_message else part_id
        if content_type.startswith("multipart/"):
            # Declared multipart, but the parser found no parts (broken boundary): show it as text.
            self.pieces.append(_Piece(text=self._text_of(part, params)))
        elif self._is_body_leaf(part, params, content_type) and (is_message or not self.pieces):
            self.pieces.append(self._leaf_piece(part, params, content_type))
        else:
            self.attach(part, leaf_id)

    def _mixed(self, children: list[tuple[str, Message]]) -> None:
        for child_id, child in children:
            params = _Params(child)
            content_type = params.content_type()
            if content_type in ("multipart/alternative", "multipart/related") and not self.pieces:
                self.walk(child, child_id, is_message=False)
            elif self._is_body_leaf(child, params, content_type) and (not self.pieces or content_type == "text/plain"):
                # The first text is the body; later inline text (a list footer) is shown after it.
                self.pieces.append(self._leaf_piece(child, params, content_type))
            elif _is_multipart(child) and content_type != "message/rfc822" and not self.pieces:
                self.walk(child, child_id, is_message=False)
            elif _is_multipart(child) and content_type != "message/rfc822":
                self._attach_all(child, child_id)
            else:
                self.attach(child, child_id)

    def _attach_all(self, part: Message, part_id: str) -> None:
        for index, child in enumerate(part.get_payload(), 1):
            child_id = f"{part_id}.{index}"
            if _is_multipart(child) and _Params(child).content_type() != "message/rfc822":
                self._attach_all(child, child_id)
            else:
                self.attach(child, child_id)

    def _alternative(self, children: list[tuple[str, Message]]) -> None:
        plain: tuple[str, Message] | None = None
        rich: tuple[str, Message] | None = None
        for child_id, child in children:
            params = _Params(child)
            content_type = params.content_type()
            if content_type == "text/plain" and params.disposition() != "attachment":
                plain = (child_id, child)  # the last alternative is the sender's preferred one
            elif content_type == "text/html" or (content_type.startswith("multipart/") and _is_multipart(child)):
                rich = (child_id, child)
            elif content_type.startswith("text/") and content_type != "text/plain":
                self.attach(child, child_id)  # text/calendar invitations and the like stay reachable
        text: str | None = None
        if plain is not None:
            plain_params = _Params(plain[1])
            text = self._leaf_piece(plain[1], plain_params, "text/plain").text
        if rich is None:
            self.pieces.append(_Piece(text=text or ""))
            return
        sub = _Collector(self.errors)
        sub.walk(rich[1], rich[0], is_message=False)
        self.attachments.extend(sub.attachments)
        html = "".join(p.html for p in sub.pieces if p.html)
        if not html:
            sub_text = "\n\n".join(p.text for p in sub.pieces if p.text)
            self.pieces.append(_Piece(text=text if text is not None else sub_text))
            return
        self.pieces.append(_Piece(text=text, html=html))

    def _related(self, children: list[tuple[str, Message]], params: _Params) -> None:
        if not children:
            return
        start = params.get("start").strip("<>")
        root_index = 0
        if start:
            for index, (_child_id, child) in enumerate(children):
                if (_raw(child, "content-id") or "").strip().strip("<>") == start:
                    root_index = index
                    break
        root_id, root = children[root_index]
        self.walk(root, root_id, is_message=False)
        for index, (child_id, child) in enumerate(children):
            if index != root_index:
                if _is_multipart(child) and _Params(child).content_type() != "message/rfc822":
                    self._attach_all(child, child_id)
                else:
                    self.attach(child, child_id, inline_resource=True)


def _collect_defects(message: Message, errors: list[str]) -> None:
    stack = [message]
    while stack:
        part = stack.pop()
        for defect in getattr(part, "defects", []):
            text = _defect_message(defect)
            if text not in errors:
                errors.append(text)
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, email.message.Message))


def _parse_date(value: str | None, errors: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(decode_header(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        errors.append(_("The date “%(date)s” could not be read.") % {"date": decode_header(value)[:100]})
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_message(
    raw: bytes,
    *,
    cid_url: Callable[[str], str] | None,
    remote: RemotePolicy = RemotePolicy.BLOCK,
    proxy_url: Callable[[str], str] | None = None,
) -> RenderedMessage:
    """Everything the reading pane shows about `raw`; what could not be parsed is in `.errors`.

    `cid_url(content_id)` gives the same-origin URL of an inline image (None: cid images are
    dropped); `remote` says whether remote images are blocked or rewritten to the proxy.
    """
    result = RenderedMessage()
    errors = result.errors
    if not isinstance(raw, bytes | bytearray):
        raw = str(raw).encode("utf-8", "surrogateescape")
    message = _parse(bytes(raw), errors)
    try:
        _fill_headers(result, message, errors)
    except Exception:  # never reached in practice: the helpers are tolerant; keep the page alive anyway
        errors.append(_("The headers could not be read completely."))
    try:
        _fill_body(result, message, errors, cid_url=cid_url, remote=remote, proxy_url=proxy_url)
    except Exception:
        errors.append(_("The message body could not be read completely; the raw text is shown."))
        result.text = decode_bytes(bytes(raw)[:BODY_DISPLAY_MAX])
        result.html = text_to_html(result.text)
        result.body_is_html = False
    _collect_defects(message, errors)
    return result


def message_text(raw: bytes) -> str:
    """The searchable text of `raw`, for the search index (apps.mail.indexer); never raises.

    The same body parts as parse_message's `text` (HTML turned into text), followed by the
    attachments' file names. The HTML is not sanitised: nothing here is displayed, and the
    sanitiser costs far more than the rest (seconds on hostile markup).
    """
    errors: list[str] = []
    try:
        message = _parse(bytes(raw), errors)
        collector = _Collector(errors)
        collector.walk(message, "", is_message=True)
        texts = [p.text if p.text is not None else html_to_text(p.html or "") for p in collector.pieces]
        names = " ".join(a.filename for a in collector.attachments if a.filename)
        return "\n\n".join(t for t in [*texts, names] if t)
    except Exception:  # as parse_message: the raw text is better than nothing
        return decode_bytes(bytes(raw)[:BODY_DISPLAY_MAX])


def _fill_headers(result: RenderedMessage, message: Message, errors: list[str]) -> None:
    headers = _raw_headers(message)
    if not headers:
        errors.append(_("The message has no headers."))
    result.headers = [(decode_header(name), decode_header(value)) for name, value in headers]
    result.subject = decode_header(_raw(message, "subject"))
    result.from_ = parse_address_list(_raw(message, "from"))
    result.to = [a for value in _all(message, "to") for a in parse_address_list(value)]
    result.cc = [a for value in _all(message, "cc") for a in parse_address_list(value)]
    result.bcc = [a for value in _all(message, "bcc") for a in parse_address_list(value)]
    result.reply_to = parse_address_list(_raw(message, "reply-to"))
    result.message_id = decode_header(_raw(message, "message-id")).strip()
    result.date = _parse_date(_raw(message, "date"), errors)


def _all(message: Message, name: str) -> list[str]:
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


def _fill_body(
    result: RenderedMessage,
    message: Message,
    errors: list[str],
    *,
    cid_url: Callable[[str], str] | None,
    remote: RemotePolicy,
    proxy_url: Callable[[str], str] | None,
) -> None:
    collector = _Collector(errors)
    collector.walk(message, "", is_message=True)
    result.attachments = collector.attachments
    pieces = collector.pieces
    texts = [p.text if p.text is not None else html_to_text(p.html or "") for p in pieces]
    result.text = "\n\n".join(t for t in texts if t)
    result.body_is_html = any(p.html for p in pieces)
    if not result.body_is_html:
        result.html = text_to_html(result.text)
        return
    frame: list[str] = []
    for piece in pieces:
        if piece.html:
            try:
                sanitized = sanitize_html(piece.html, cid_url=cid_url, remote=remote, proxy_url=proxy_url)
            except HtmlTooComplexError:
                errors.append(
                    _("The HTML of this message is too large or too deeply nested to show; its text is shown.")
                )
                frame.append(text_to_html(html_to_text(piece.html)))
                continue
            result.has_remote_content = result.has_remote_content or sanitized.has_remote_content
            frame.append(sanitized.html)
        elif piece.text:
            frame.append(text_to_html(piece.text))
    result.html = "".join(frame)
