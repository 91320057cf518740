"""Contact photos: what a card's PHOTO holds, shown as Ruche's own redraw, and a new photo written
into the card.

A PHOTO is inline bytes (3.0 `ENCODING=b`) or a 4.0 `data:` URI. One that names a remote address is
never fetched: loading it would tell a stranger's server who looks at the card and when. What is
shown is always a square JPEG redrawn by Pillow (apps.accounts.avatars.square_thumbnail), never the
card's bytes, so a hostile "image" cannot reach the browser.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_to_bytes

from django.core.cache import cache
from django.core.exceptions import ValidationError

from apps.accounts.avatars import square_thumbnail
from apps.contacts import vcards
from apps.contacts.models import Contact

PHOTO_SIZE = 256  # pixels per side of the redraw, shown and stored
# A photo property larger than this is not decoded (the card cap is larger; photos are small).
MAX_PHOTO_BYTES = 384 * 1024
_CACHE_SECONDS = 24 * 3600


def card_photo_bytes(card: Any) -> bytes | None:
    """The raw image bytes of the card's first inline PHOTO, or None (absent, remote or unreadable)."""
    lines = card.contents.get("photo") or []
    if not lines:
        return None
    value = lines[0].value
    if isinstance(value, bytes):
        return value if len(value) <= MAX_PHOTO_BYTES else None
    text = str(value).strip()
    if text[:5].lower() != "data:" or "," not in text or len(text) > MAX_PHOTO_BYTES * 4 // 3 + 100:
        return None
    header, _comma, payload = text.partition(",")
    try:
        if header.lower().endswith(";base64"):
            return base64.b64decode("".join(payload.split()), validate=True)
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None


def contact_photo_jpeg(contact: Contact) -> bytes | None:
    """The contact's photo redrawn as a square JPEG, cached per card version; None when it has none."""
    key = f"contacts:photo:{contact.pk}:{contact.etag}"
    cached = cache.get(key)
    if cached is not None:
        return bytes(cached) or None
    try:
        raw = card_photo_bytes(vcards.parse_card(contact.vcard))
        jpeg = square_thumbnail(raw, size=PHOTO_SIZE, image_format="JPEG") if raw else b""
    except (vcards.VCardError, ValidationError):
        jpeg = b""
    cache.set(key, jpeg, _CACHE_SECONDS)  # b"" remembers "no usable photo" as well
    return jpeg or None


def has_photo_property(card: Any) -> bool:
    return bool(card.contents.get("photo"))


def set_photo(card: Any, jpeg: bytes | None) -> None:
    """Replaces the card's photos by `jpeg` (None: removes them), in the form the card's version uses."""
    card.contents.pop("photo", None)
    if jpeg is None:
        return
    version = str(card.contents["version"][0].value) if card.contents.get("version") else "4.0"
    line = card.add("photo")
    if version == "3.0":
        line.encoding_param = "b"
        line.type_param = "JPEG"
        line.value = jpeg
    else:
        line.value = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
