"""vCard 3.0 and 4.0 through vobject: parse, derive the list columns, edit only what the form shows.

The stored text is the truth. An edit (`rewrite_card`) parses it, changes properties, and then
writes back only the properties whose serialisation changed; every other line stays exactly as it
came (X-…, IMPP, RELATED, ADR, PHOTO, custom parameters, folding), so a client's data survives a
save in Ruche even where vobject's reading of a value is lossy (it reads most values as one text
and drops what follows an unescaped comma).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import vobject
from django.utils.translation import gettext as _

from apps.contacts import normalise

# A card with a reasonable photo fits well under this; anything larger is refused, not truncated.
MAX_CARD_CHARS = 512 * 1024
VERSIONS = ("3.0", "4.0")


class _UriBehavior(vobject.vcard.VCardTextBehavior):
    """URI-valued properties (a 4.0 `PHOTO:data:image/jpeg;base64,…`, `RELATED:urn:uuid:…`) are
    kept as written: vobject's text reading would unescape them and cut them at the first comma.
    Base64 values (3.0 `ENCODING=b`) are still decoded to bytes."""

    @classmethod
    def decode(cls, line: Any) -> None:
        if line.encoded and not getattr(line, "encoding_param", None) and "BASE64" not in line.singletonparams:
            return  # stays "encoded": serialised back byte for byte
        super().decode(line)

    @classmethod
    def encode(cls, line: Any) -> None:
        if getattr(line, "encoding_param", None):
            super().encode(line)
        else:
            line.encoded = True  # a URI is written as given, never backslash-escaped


class _UriPhoto(_UriBehavior):
    name = "Photo"  # keeps vobject's own unwrapped serialisation of photos (Apple's Address Book)

    @classmethod
    def serialize(cls, obj: Any, buf: Any, lineLength: int, validate: bool, *args: Any, **kwargs: Any) -> Any:  # noqa: N803
        return vobject.vcard.Photo.serialize(obj, buf, lineLength, validate, *args, **kwargs)


for _name in ("LOGO", "SOUND", "KEY", "RELATED", "MEMBER", "SOURCE", "IMPP", "FBURL", "CALURI", "CALADRURI"):
    vobject.base.registerBehavior(_UriBehavior, _name)
    # vobject only looks a behaviour up for the card's "known children" (any number allowed).
    vobject.vcard.VCard3_0.knownChildren.setdefault(_name, (0, None, None))
vobject.base.registerBehavior(_UriPhoto, "PHOTO", default=True)  # ahead of vobject's own


class VCardError(ValueError):
    """The text is not a vCard Ruche can keep; the message says why in plain words."""


@dataclass
class Typed:
    """One mail, phone or URL with its types (lower case, e.g. ["work", "pref"])."""

    value: str
    types: list[str] = field(default_factory=list)


@dataclass
class CardFields:
    """What the contact form shows and edits."""

    full_name: str = ""
    given: str = ""
    family: str = ""
    nickname: str = ""
    organisation: str = ""
    title: str = ""
    emails: list[Typed] = field(default_factory=list)
    phones: list[Typed] = field(default_factory=list)
    urls: list[Typed] = field(default_factory=list)
    birthday: str = ""
    note: str = ""
    categories: list[str] = field(default_factory=list)


@dataclass
class Derived:
    """The columns of apps.contacts.models.Contact computed from the text."""

    uid: str
    full_name: str
    sort_key: str
    email: str
    organisation: str
    search_text: str
    etag: str
    # apps.contacts.normalise columns: groups, group-card kind, duplicate/autocomplete keys
    categories: str = ""
    kind: str = ""
    match_keys: str = ""


def parse_card(text: str) -> Any:
    """One vCard component from `text`, or VCardError."""
    if len(text) > MAX_CARD_CHARS:
        raise VCardError(_("The card is larger than %(size)d KiB.") % {"size": MAX_CARD_CHARS // 1024})
    if "BEGIN:VCARD" not in text.upper():
        raise VCardError(_("This is not a vCard (BEGIN:VCARD is missing)."))
    try:
        card = vobject.readOne(text)
    except Exception as error:  # vobject raises many types (ParseError, ValueError, binascii…)
        raise VCardError(_("The card cannot be read: %(reason)s") % {"reason": str(error)[:200]}) from None
    if card.name != "VCARD":
        raise VCardError(_("This is not a vCard."))
    version = _first_value(card, "version")
    if version not in VERSIONS:
        raise VCardError(_("Only vCard 3.0 and 4.0 are supported (this card says %(v)s).") % {"v": version or "?"})
    if not _first_value(card, "fn") and not _name_text(card):
        raise VCardError(_("The card has no name (FN or N)."))
    return card


def split_cards(text: str) -> Iterator[str]:
    """The BEGIN:VCARD … END:VCARD blocks of a .vcf file, in order, each with CRLF line ends.

    Splitting on the text (not with vobject) keeps one bad card from hiding the ones after it.
    """
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        marker = line.strip().upper()
        if marker == "BEGIN:VCARD" and not inside:
            inside = True
            lines = [line]
        elif inside:
            lines.append(line)
            if marker == "END:VCARD":
                inside = False
                yield "\r\n".join(lines) + "\r\n"
    if inside:
        yield "\r\n".join(lines) + "\r\n"


def ensure_uid(text: str, card: Any) -> tuple[str, str]:
    """The card's UID and its text; a card without one gets a UID line added before END:VCARD."""
    uid = _first_value(card, "uid")
    if uid:
        return uid[:255], text
    uid = f"urn:uuid:{uuid.uuid4()}"
    end = text.upper().rfind("END:VCARD")
    return uid, f"{text[:end]}UID:{uid}\r\n{text[end:]}"


def derive(text: str, card: Any) -> Derived:
    """The list and search columns of a parsed card (its text gives the etag)."""
    fields = read_fields(card)
    full_name = fields.full_name or _name_text(card)
    sort_key = " ".join(part for part in (fields.family, fields.given) if part) or full_name
    words = [full_name, fields.nickname, fields.organisation, *(e.value for e in fields.emails)]
    words += [p.value for p in fields.phones]
    return Derived(
        uid=_first_value(card, "uid")[:255],
        full_name=full_name[:500],
        sort_key=sort_key.casefold()[:500],
        email=(fields.emails[0].value if fields.emails else "")[:320],
        organisation=fields.organisation[:500],
        search_text=" ".join(w for w in words if w).casefold(),
        etag=hashlib.sha256(text.encode()).hexdigest()[:40],
        categories=normalise.framed(fields.categories),
        kind=card_kind(card),
        match_keys=normalise.match_keys(
            mails=(e.value for e in fields.emails), phones=(p.value for p in fields.phones), name=full_name
        ),
    )


def card_kind(card: Any) -> str:
    """The card's kind: "group" for a group card (vCard 4.0 KIND, Apple's X-ADDRESSBOOKSERVER-KIND), else ""."""
    kind = (_first_value(card, "kind") or _first_value(card, "x-addressbookserver-kind")).lower()
    return "group" if kind == "group" else ""


def read_fields(card: Any) -> CardFields:
    """The form's view of a parsed card."""
    name = _line(card, "n")
    given = family = ""
    if name is not None and isinstance(name.value, vobject.vcard.Name):
        given, family = _join(name.value.given), _join(name.value.family)
    org = _line(card, "org")
    categories: list[str] = []
    for line in card.contents.get("categories", []):
        categories += [c for c in (line.value if isinstance(line.value, list) else [line.value]) if c]
    return CardFields(
        full_name=_first_value(card, "fn"),
        given=given,
        family=family,
        nickname=_first_value(card, "nickname"),
        organisation=(_join(org.value[:1]) if isinstance(org.value, list) else str(org.value)) if org else "",
        title=_first_value(card, "title"),
        emails=_typed(card, "email"),
        phones=_typed(card, "tel"),
        urls=_typed(card, "url"),
        birthday=_first_value(card, "bday"),
        note=_first_value(card, "note"),
        categories=categories,
    )


def addresses(card: Any) -> list[Typed]:
    """The postal addresses as one line each (shown, not edited: they survive edits untouched)."""
    found = []
    for line in card.contents.get("adr", []):
        value = line.value
        if isinstance(value, vobject.vcard.Address):
            parts = [value.box, value.extended, value.street, value.code, value.city, value.region, value.country]
            text = ", ".join(_join(p) for p in parts if _join(p))
        else:
            text = str(value).replace(";", " ").strip()
        if text:
            found.append(Typed(text, _types(line)))
    return found


def new_card(fields: CardFields) -> str:
    """A new vCard 4.0 holding `fields`."""
    card = vobject.vCard()
    card.add("version").value = "4.0"
    card.add("uid").value = f"urn:uuid:{uuid.uuid4()}"
    apply_fields(card, fields)
    return _serialize(card)


def edit_card(text: str, fields: CardFields) -> str:
    """`text` with the form's properties set to `fields`; every other property kept as it was."""
    return rewrite_card(text, lambda card: apply_fields(card, fields))


def rewrite_card(text: str, change: Callable[[Any], None]) -> str:
    """`text` after `change(card)` on its parsed card, keeping every unchanged property's own lines.

    The card is serialised before and after the change; only the properties whose serialised
    lines differ are replaced (at the place of their first line; new ones before END:VCARD).
    """
    before = _lines_by_name(_serialize(parse_card(text)))
    card = parse_card(text)
    change(card)
    after = _lines_by_name(_serialize(card))
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    if not changed:
        return text
    out: list[str] = []
    written: set[str] = set()
    for raw, name in _logical_lines(text):
        if name == "END":
            out += [line for n in sorted(changed - written) for line in after.get(n, [])]
            written |= changed
        elif name in changed:
            if name not in written:
                out += after.get(name, [])
                written.add(name)
            continue
        out.append(raw)
    return "\r\n".join(out) + "\r\n"


def _logical_lines(text: str) -> Iterator[tuple[str, str]]:
    """Each content line of `text` as (its raw text, folded lines included; its property name)."""
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and current:
            current.append(line)
            continue
        if current:
            raw = "\r\n".join(current)
            yield raw, _property_name(raw)
        current = [line] if line else []
    if current:
        raw = "\r\n".join(current)
        yield raw, _property_name(raw)


def _property_name(line: str) -> str:
    """`item1.EMAIL;TYPE=work:…` → "EMAIL" (group and parameters dropped, upper case)."""
    head = line.split(":", 1)[0].split(";", 1)[0]
    return head.rsplit(".", 1)[-1].strip().upper()


def _lines_by_name(text: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for raw, name in _logical_lines(text):
        if name not in ("BEGIN", "END"):
            lines.setdefault(name, []).append(raw)
    return lines


def _serialize(card: Any) -> str:
    try:
        return str(card.serialize())
    except Exception as error:  # vobject's validation and encoding errors have no common base
        raise VCardError(_("The card cannot be written: %(reason)s") % {"reason": str(error)[:200]}) from None


def apply_fields(card: Any, fields: CardFields) -> None:
    """Changes only the properties that differ from `fields`, keeping unknown parameters of kept values."""
    full_name = fields.full_name or " ".join(p for p in (fields.given, fields.family) if p) or fields.organisation
    if not full_name.strip():
        raise VCardError(_("The card has no name (FN or N)."))
    _set_single(card, "fn", full_name)
    current = read_fields(card)
    if (current.given, current.family) != (fields.given, fields.family):
        line = _line(card, "n")
        old = line.value if line is not None and isinstance(line.value, vobject.vcard.Name) else None
        if line is None:
            line = card.add("n")
        # Keep the middle names, prefix and suffix Ruche does not show.
        line.value = vobject.vcard.Name(
            family=fields.family,
            given=fields.given,
            additional=old.additional if old else "",
            prefix=old.prefix if old else "",
            suffix=old.suffix if old else "",
        )
    _set_single(card, "nickname", fields.nickname)
    _set_single(card, "title", fields.title)
    _set_single(card, "bday", fields.birthday)
    _set_single(card, "note", fields.note)
    if current.organisation != fields.organisation:
        line = _line(card, "org")
        rest = line.value[1:] if line is not None and isinstance(line.value, list) else []
        if not fields.organisation:
            card.contents.pop("org", None)
        else:
            (line or card.add("org")).value = [fields.organisation, *rest]
    if current.categories != fields.categories:
        card.contents.pop("categories", None)
        if fields.categories:
            card.add("categories").value = list(fields.categories)
    _set_typed(card, "email", fields.emails)
    _set_typed(card, "tel", fields.phones)
    _set_typed(card, "url", fields.urls)


# ---------------------------------------------------------------- helpers
def _line(card: Any, name: str) -> Any:
    lines = card.contents.get(name)
    return lines[0] if lines else None


def _first_value(card: Any, name: str) -> str:
    line = _line(card, name)
    if line is None:
        return ""
    value = line.value
    return _join(value) if isinstance(value, list) else str(value).strip()


def _join(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v).strip()
    return str(value or "").strip()


def _name_text(card: Any) -> str:
    line = _line(card, "n")
    if line is None or not isinstance(line.value, vobject.vcard.Name):
        return ""
    name = line.value
    return " ".join(_join(p) for p in (name.prefix, name.given, name.additional, name.family, name.suffix) if _join(p))


def _types(line: Any) -> list[str]:
    types: list[str] = []
    for raw in line.params.get("TYPE", []):
        types += [t.strip().lower() for t in str(raw).split(",") if t.strip()]
    return types


def _typed(card: Any, name: str) -> list[Typed]:
    found = []
    for line in card.contents.get(name, []):
        value = str(line.value).strip()
        if name == "tel" and value.lower().startswith("tel:"):
            value = value[4:]
        if value:
            found.append(Typed(value, _types(line)))
    return found


def _set_single(card: Any, name: str, value: str) -> None:
    if _first_value(card, name) == value.strip():
        return
    if not value.strip():
        card.contents.pop(name, None)
        return
    line = _line(card, name) or card.add(name)
    line.value = value.strip()


def _set_typed(card: Any, name: str, wanted: list[Typed]) -> None:
    """Keeps the lines whose value is still wanted (with their own parameters), drops the others, adds new ones."""
    existing: dict[str, Any] = {}
    for line in card.contents.get(name, []):
        value = str(line.value).strip()
        key = value[4:] if name == "tel" and value.lower().startswith("tel:") else value
        existing.setdefault(key, line)
    lines = []
    for item in wanted:
        line = existing.pop(item.value, None)
        if line is None:
            line = vobject.base.ContentLine(name.upper(), [], item.value)
        if _types(line) != item.types:
            line.params.pop("TYPE", None)
            if item.types:
                line.params["TYPE"] = [",".join(item.types)]
        lines.append(line)
    if lines:
        card.contents[name] = lines
    else:
        card.contents.pop(name, None)
