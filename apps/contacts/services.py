"""Writes on address books and contacts. Views, imports and (later) CardDAV call these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.contacts import vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.changes import change_record, change_record_many
from apps.core.sharing import share_delete_all

if TYPE_CHECKING:
    from apps.accounts.models import User

IMPORT_BATCH = 500
# A .vcf file larger than this is refused before reading it (50,000 small cards fit).
MAX_IMPORT_BYTES = 50 * 1024 * 1024


# A UID made only of these characters names its card's DAV resource as is ("<uid>.vcf").
_HREF_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.@+=")
PERSONAL_DAV_NAME = "contacts"


def href_for_uid(uid: str) -> str:
    """The resource name of a card created by Ruche (a DAV client chooses its own when it PUTs)."""
    if uid and len(uid) <= 200 and set(uid) <= _HREF_SAFE:
        return f"{uid}.vcf"
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, uid).hex}.vcf"


def book_ensure_personal(*, user: User) -> AddressBook:
    """The user's personal book, created on first use (concurrent first visits get the same one)."""
    book = AddressBook.objects.filter(owner=user, personal=True).first()
    if book is not None:
        return book
    try:
        with transaction.atomic():
            return AddressBook.objects.create(owner=user, personal=True, name=_("Contacts"), dav_name=PERSONAL_DAV_NAME)
    except IntegrityError:
        return AddressBook.objects.get(owner=user, personal=True)


def _apply(contact: Contact, text: str, card: object) -> Contact:
    derived = vcards.derive(text, card)
    contact.vcard = text
    contact.uid = derived.uid
    contact.full_name = derived.full_name
    contact.sort_key = derived.sort_key
    contact.email = derived.email
    contact.organisation = derived.organisation
    contact.search_text = derived.search_text
    contact.etag = derived.etag
    return contact


@transaction.atomic
def contact_create(*, book: AddressBook, fields: vcards.CardFields) -> Contact:
    """A new contact from the form's fields, stored as a vCard 4.0."""
    text = vcards.new_card(fields)
    contact = _apply(Contact(book=book), text, vcards.parse_card(text))
    contact.href = href_for_uid(contact.uid)
    contact.save()
    change_record(book, contact.href)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, fields: vcards.CardFields) -> Contact:
    """Writes the form's fields into the contact's own vCard text; other properties are kept."""
    text = vcards.edit_card(contact.vcard, fields)
    _apply(contact, text, vcards.parse_card(text))
    contact.save()
    change_record(contact.book, contact.href)
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
    change_record(contact.book, contact.href, deleted=True)
    contact.delete()


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    # (card number in the file, starting at 1; the reason in plain words)
    errors: list[tuple[int, str]] = field(default_factory=list)


def book_import(*, book: AddressBook, data: bytes) -> ImportResult:
    """Reads a .vcf file of any number of cards; each card stands alone.

    A bad card is reported by its number and skipped; the good ones are kept. A card whose UID is
    already in the book replaces that contact (importing the same export twice makes no duplicates).
    """
    result = ImportResult()
    if len(data) > MAX_IMPORT_BYTES:
        result.errors.append((0, _("The file is larger than %(size)d MiB.") % {"size": MAX_IMPORT_BYTES // 2**20}))
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    parsed: dict[str, tuple[Contact, object]] = {}
    number = 0
    for number, chunk in enumerate(vcards.split_cards(text), start=1):
        try:
            card = vcards.parse_card(chunk)
        except vcards.VCardError as error:
            result.errors.append((number, str(error)))
            continue
        uid, text_with_uid = vcards.ensure_uid(chunk, card)
        contact = _apply(Contact(book=book), text_with_uid, card)
        contact.uid = uid
        contact.href = href_for_uid(uid)
        parsed[uid] = (contact, card)  # a UID twice in one file: the later card wins
    if number == 0:
        result.errors.append((0, _("The file holds no vCard.")))
    with transaction.atomic():
        existing = {c.uid: c for c in Contact.objects.filter(book=book, uid__in=list(parsed))}
        new = [c for uid, (c, _card) in parsed.items() if uid not in existing]
        changed = []
        now = timezone.now()
        for uid, old in existing.items():
            contact, card = parsed[uid]
            _apply(old, contact.vcard, card)
            old.updated = now  # bulk_update does not touch auto_now fields
            changed.append(old)
        Contact.objects.bulk_create(new, batch_size=IMPORT_BATCH)
        Contact.objects.bulk_update(
            changed,
            ["vcard", "full_name", "sort_key", "email", "organisation", "search_text", "etag", "updated"],
            batch_size=IMPORT_BATCH,
        )
        change_record_many(book, [c.href for c in new] + [c.href for c in changed])
    result.created, result.updated = len(new), len(changed)
    return result


def book_export(*, book: AddressBook) -> str:
    """The whole book as one .vcf text, each card as stored."""
    parts = []
    for text in Contact.objects.filter(book=book).order_by("sort_key", "pk").values_list("vcard", flat=True):
        parts.append(text if text.endswith("\n") else text + "\r\n")
    return "".join(parts)


# ---------------------------------------------------------------- books
def _free_dav_name(owner_id: int, wanted: str) -> str:
    """`wanted` if the owner has no book by that DAV name, else `wanted-2`, `wanted-3`…"""
    taken = set(
        AddressBook.objects.filter(owner_id=owner_id, dav_name__startswith=wanted).values_list("dav_name", flat=True)
    )
    if wanted not in taken:
        return wanted
    n = 2
    while f"{wanted}-{n}" in taken:
        n += 1
    return f"{wanted}-{n}"


@transaction.atomic
def book_create(*, owner: User, name: str, description: str = "", dav_name: str = "") -> AddressBook:
    """A new book. `dav_name` comes from a DAV client's MKCOL (which must then be free: the DAV
    layer checks and answers 405/409 itself); the browser leaves it empty and gets a unique one."""
    name = name.strip()[:200] or _("Address book")
    if not dav_name:
        dav_name = _free_dav_name(owner.pk, uuid.uuid4().hex[:12])
    return AddressBook.objects.create(owner=owner, name=name, description=description, dav_name=dav_name)


@transaction.atomic
def book_update(*, book: AddressBook, name: str | None = None, description: str | None = None) -> AddressBook:
    if name is not None:
        book.name = name.strip()[:200] or book.name
    if description is not None:
        book.description = description
    book.save(update_fields=["name", "description"])
    return book


@transaction.atomic
def book_delete(*, book: AddressBook) -> None:
    """Deletes a book, its cards and its shares. The personal book is recreated empty on next use."""
    share_delete_all(collection=book)
    book.delete()
