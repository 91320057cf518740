"""Header values and addresses from strangers' mail: decoded without ever raising.

The API is shared by the sync engine (index) and the renderer (display):

    decode_header(value)        RFC 2047 encoded words → str; bytes in any charset → str
    parse_address_list(value)   a To/Cc/From value → [Address(name, address), ...]

Both accept anything a server may send, including malformed input, and degrade to the best
readable text instead of failing.
"""

from __future__ import annotations

import email.header
import email.utils
from typing import NamedTuple


class Address(NamedTuple):
    name: str
    address: str


def _to_text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")  # every byte maps: never fails, usually right for 8-bit headers
    return value


def decode_header(value: str | bytes | None) -> str:
    """Decodes RFC 2047 encoded words; unknown charsets and broken encodings degrade, never raise."""
    if value is None:
        return ""
    text = _to_text(value)
    if "=?" not in text:
        return " ".join(text.split()) if ("\r" in text or "\n" in text) else text
    try:
        parts = email.header.decode_header(text)
    except Exception:  # email.header raises several types on malformed words
        return text
    decoded: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            decoded.append(chunk)
            continue
        decoded.append(_decode_bytes(chunk, charset))
    return " ".join("".join(decoded).split()) if decoded else text


def _decode_bytes(chunk: bytes, charset: str | None) -> str:
    for candidate in (charset, "utf-8", "latin-1"):
        if not candidate:
            continue
        try:
            return chunk.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return chunk.decode("latin-1")


def parse_address_list(value: str | bytes | None) -> list[Address]:
    """Every address of a header value, names decoded; groups flattened, empty entries dropped."""
    if not value:
        return []
    text = _to_text(value)
    try:
        pairs = email.utils.getaddresses([text])
    except Exception:
        return [Address(decode_header(text), "")]
    result = []
    for name, address in pairs:
        if not name and not address:
            continue
        result.append(Address(decode_header(name), address.strip()))
    return result
