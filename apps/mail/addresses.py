"""Header values and addresses from strangers' mail: decoded without ever raising.

The API is shared by the sync engine (index) and the renderer (display):

    decode_header(value)        RFC 2047 encoded words → str; bytes in any charset → str
    parse_address_list(value)   a To/Cc/From value → [Address(name, address), ...]

Both accept anything a server may send, including malformed input, and degrade to the best
readable text instead of failing. The address parser is our own RFC 5322 tokenizer because
`email.utils.getaddresses` splits source routes (`<@a.net,@b.net:user@domain>`) on their
commas and repeats comments; it also decodes IDN domains (xn--) for display.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import NamedTuple


class Address(NamedTuple):
    name: str
    address: str


# Charsets tried after the declared one; latin-1 maps every byte, so decoding always ends.
FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FOLDING = re.compile(r"\r?\n[ \t]*|\r")
_SURROGATE = re.compile(r"[\udc80-\udcff]")


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes in a declared (possibly wrong or unknown) charset → str, never raising."""
    for candidate in (charset, *FALLBACK_CHARSETS):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError, ValueError):
            continue
    return data.decode("latin-1")  # unreachable: latin-1 maps every byte


def _to_text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return decode_bytes(value)
    if _SURROGATE.search(value):
        # 8-bit header bytes the email package kept as surrogate escapes: decode them for real.
        return decode_bytes(value.encode("utf-8", "surrogateescape"))
    return value


def unescape_8bit(value: str) -> str:
    """A header value the email package read from 8-bit bytes (surrogate escapes) → real text."""
    return _to_text(value)


def _clean(text: str) -> str:
    """Unfolds, turns stray CR/LF and control characters into spaces, trims."""
    if "\r" in text or "\n" in text or _CONTROL.search(text):
        text = _CONTROL.sub(" ", _FOLDING.sub(" ", text))
        return " ".join(text.split())
    return text.strip()


def _decode_word(charset: str, encoding: str, payload: str) -> bytes:
    if encoding in "bB":
        data = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        data += "=" * (-len(data) % 4)
        try:
            return base64.b64decode(data)
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace")
    raw = payload.replace("_", " ").encode("ascii", "replace")
    try:
        return binascii.a2b_qp(raw)
    except (binascii.Error, ValueError):
        return raw


def _charset_name(charset: str) -> str:
    # RFC 2231 allows a language suffix: "utf-8*fr".
    return charset.split("*", 1)[0].strip().lower()


def decode_header(value: str | bytes | None) -> str:
    """Decodes RFC 2047 encoded words; unknown charsets and broken encodings degrade, never raise.

    Adjacent encoded words in the same charset are joined before decoding, so a character that a
    sender split across two words (a common bug) still comes out whole.
    """
    if value is None:
        return ""
    text = _clean(_to_text(value))
    if "=?" not in text:
        return text
    pieces: list[str] = []
    pending: bytearray = bytearray()
    pending_charset = ""
    position = 0

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            pieces.append(decode_bytes(bytes(pending), pending_charset))
        pending = bytearray()
        pending_charset = ""

    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        # RFC 2047 §6.2: whitespace between two encoded words is not displayed.
        if between and not (pending and between.isspace()):
            flush()
            pieces.append(between)
        charset = _charset_name(match.group(1))
        if pending and charset != pending_charset:
            flush()
        pending_charset = charset
        pending += _decode_word(charset, match.group(2), match.group(3))
        position = match.end()
    flush()
    pieces.append(text[position:])
    return _clean("".join(pieces))


# --- addresses -------------------------------------------------------------------------------

_SPECIALS = "<>,:;@."


class _Token(NamedTuple):
    kind: str  # "atom", "quoted", "comment", "literal", "special", "space"
    text: str


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
            tokens.append(_Token("space", " "))
            i = j
        elif char == '"':
            value, i = _read_delimited(text, i + 1, '"')
            tokens.append(_Token("quoted", value))
        elif char == "(":
            value, i = _read_comment(text, i + 1)
            tokens.append(_Token("comment", value))
        elif char == "[":
            value, i = _read_delimited(text, i + 1, "]")
            tokens.append(_Token("literal", f"[{value}]"))
        elif char in _SPECIALS:
            tokens.append(_Token("special", char))
            i += 1
        else:
            j = i + 1  # at least one character, so a stray ")" or "]" cannot stall the loop
            while j < n and not text[j].isspace() and text[j] not in _SPECIALS and text[j] not in '"([':
                j += 1
            tokens.append(_Token("atom", text[i:j]))
            i = j
    return tokens


def _read_delimited(text: str, i: int, end: str) -> tuple[str, int]:
    """Content up to the closing delimiter (backslash escapes honoured); unterminated → to the end."""
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == end:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


def _read_comment(text: str, i: int) -> tuple[str, int]:
    depth = 1
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return "".join(out), i + 1
        out.append(char)
        i += 1
    return "".join(out), i


_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def display_domain(domain: str) -> str:
    """IDN labels (xn--) shown in Unicode; anything undecodable kept as it came."""
    if "xn--" not in domain.lower():
        return domain
    return ".".join(_display_label(label) for label in domain.split("."))


def _display_label(label: str) -> str:
    if not label.lower().startswith("xn--"):
        return label
    try:
        return str(codecs.decode(label[4:].encode("ascii"), "punycode"))
    except (UnicodeError, ValueError):
        return label


def _addr_spec(tokens: list[_Token]) -> str:
    """local@domain from tokens; a source route (@a,@b:) is dropped, quotes kept only if needed."""
    parts = [t for t in tokens if t.kind not in ("space", "comment")]
    if parts and parts[0] == _Token("special", "@"):
        colon = next((k for k, t in enumerate(parts) if t == _Token("special", ":")), None)
        if colon is not None:
            parts = parts[colon + 1 :]
    at = max((k for k, t in enumerate(parts) if t == _Token("special", "@")), default=None)
    local_tokens, domain_tokens = (parts, []) if at is None else (parts[:at], parts[at + 1 :])
    local = "".join(_local_text(t) for t in local_tokens)
    if len(local_tokens) == 1 and local_tokens[0].kind == "quoted" and _DOT_ATOM.match(local_tokens[0].text):
        local = local_tokens[0].text
    if at is None:
        return local
    domain = "".join(t.text for t in domain_tokens)
    return f"{local}@{display_domain(domain)}"


def _local_text(token: _Token) -> str:
    if token.kind == "quoted":
        escaped = token.text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return token.text


def _phrase(tokens: list[_Token]) -> str:
    words = []
    for token in tokens:
        if token.kind in ("atom", "quoted", "literal", "special"):
            words.append(token.text)
        elif token.kind == "space":
            words.append(" ")
    return decode_header("".join(words))


class _Mailbox:
    def __init__(self) -> None:
        self.before: list[_Token] = []  # phrase, or the whole addr-spec when there is no <...>
        self.angle: list[_Token] | None = None
        self.comments: list[str] = []

    def result(self) -> Address | None:
        if self.angle is not None:
            name = _phrase(self.before)
            address = _addr_spec(self.angle)
        else:
            name = ""
            address = _addr_spec(self.before)
        if not name and self.comments:
            name = decode_header(" ".join(c.strip() for c in self.comments if c.strip()))
        if not name and not address:
            return None
        return Address(name, address)


def parse_address_list(value: str | bytes | None) -> list[Address]:
    """Every address of a header value, names decoded; groups flattened, empty entries dropped.

    An empty group ("Undisclosed recipients:;") yields its name with no address.
    """
    if not value:
        return []
    try:
        return _parse_address_list(_clean(_to_text(value)))
    except Exception:  # a last resort: this function must never fail on strangers' input
        return [Address(decode_header(value), "")]


def _parse_address_list(text: str) -> list[Address]:
    result: list[Address] = []
    current = _Mailbox()
    group_name: str | None = None
    group_count = 0
    angle_depth = 0

    def finish() -> None:
        nonlocal current, group_count
        address = current.result()
        if address is not None:
            result.append(address)
            group_count += 1
        current = _Mailbox()

    for token in _tokenize(text):
        if angle_depth:
            if token == _Token("special", ">"):
                angle_depth = 0
            else:
                assert current.angle is not None
                current.angle.append(token)
            continue
        if token.kind == "comment":
            current.comments.append(token.text)
        elif token == _Token("special", "<"):
            angle_depth = 1
            current.angle = []
        elif token == _Token("special", ","):
            finish()
        elif token == _Token("special", ":") and group_name is None and current.angle is None:
            group_name = _phrase(current.before) or ""
            group_count = 0
            current = _Mailbox()
        elif token == _Token("special", ";") and group_name is not None:
            finish()
            if group_count == 0 and group_name:
                result.append(Address(group_name, ""))
            group_name = None
        elif current.angle is None:
            current.before.append(token)
        # tokens after a closing ">" (other than comments and separators) are junk: ignored
    finish()
    if group_name is not None and group_count == 0 and group_name:
        result.append(Address(group_name, ""))
    return result
