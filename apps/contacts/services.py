"""Writes on address books and contacts. Views, imports and (later) CardDAV call these."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.contacts import vcards
from apps.contacts.models import AddressBook, Contact

if TYPE_CHECKING:
    from apps.accounts.models import User

IMPORT_BATCH = 500
# A .vcf file larger than this is refused before reading it (50,000 small cards fit).
MAX_IMPORT_BYTES = 50 * 1024 * 1024


def book_ensure_personal(*, user: User) -> AddressBook:
    """The user's personal book, created on first use (concurrent first visits get the same one)."""
    book = AddressBook.objects.filter(owner=user, personal=True).first()
    if book is not None:
        return book
    try:
        with transaction.atomic():
            return AddressBook.objects.create(owner=user, personal=True, name=_("Contacts"))
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
    contact.save()
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, fields: vcards.CardFields) -> Contact:
    """Writes the form's fields into the contact's own vCard text; other properties are kept."""
    text = vcards.edit_card(contact.vcard, fields)
    _apply(contact, text, vcards.parse_card(text))
    contact.save()
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact) -> None:
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
    result.created, result.updated = len(new), len(changed)
    return result


def book_export(*, book: AddressBook) -> str:
    """The whole book as one .vcf text, each card as stored."""
    parts = []
    for text in Contact.objects.filter(book=book).order_by("sort_key", "pk").values_list("vcard", flat=True):
        parts.append(text if text.endswith("\n") else text + "\r\n")
    return "".join(parts)
