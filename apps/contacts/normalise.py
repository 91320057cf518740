"""Normalised forms of mails, phones and names: what makes two cards "the same person".

Shared by the derived `Contact.match_keys` column (apps.contacts.vcards.derive), duplicate
detection and merge (apps.contacts.merge), so the three can never disagree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Enough trailing digits to tell numbers apart while "+33 6 12 34 56 78" and "06 12 34 56 78" meet.
PHONE_DIGITS = 9
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


def mail_key(address: str) -> str:
    address = address.strip().lower()
    if address.startswith("mailto:"):
        address = address[7:]
    return address if "@" in address else ""


def phone_key(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    # Short numbers (extensions, 112) say too little to call two cards duplicates.
    return digits[-PHONE_DIGITS:] if len(digits) >= 6 else ""


def name_key(name: str) -> str:
    """Accents, case, punctuation and word order dropped: "Martin, Jeanne" == "jeanne MARTIN"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = sorted(w for w in _NOT_WORD.split(plain) if w)
    return " ".join(words)


def match_keys(*, mails: Iterable[str], phones: Iterable[str], name: str) -> str:
    """The "\\n"-framed keys stored in Contact.match_keys ("" when there are none)."""
    keys: list[str] = []
    for key in (f"m:{k}" for k in map(mail_key, mails) if k):
        if key not in keys:
            keys.append(key)
    for key in (f"p:{k}" for k in map(phone_key, phones) if k):
        if key not in keys:
            keys.append(key)
    named = name_key(name)
    if named:
        keys.append(f"n:{named}")
    return "\n" + "\n".join(keys) + "\n" if keys else ""


def framed(values: Iterable[str]) -> str:
    """Values as a "\\n"-framed column ("\\na\\nb\\n"), "" for none; newlines inside a value are dropped."""
    cleaned = [v.replace("\n", " ").replace("\r", " ").strip() for v in values]
    kept = list(dict.fromkeys(v for v in cleaned if v))
    return "\n" + "\n".join(kept) + "\n" if kept else ""


def unframed(column: str) -> list[str]:
    return [v for v in column.split("\n") if v]
