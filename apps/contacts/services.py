"""Writes on address books and contacts. Views, imports and (later) CardDAV call these."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.avatars import square_thumbnail
from apps.contacts import groups, merge, photos, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.changes import change_record, change_record_many
from apps.core.sharing import share_delete_all, share_revoke, shares_of

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


# The columns _apply sets: what a bulk_update of re-derived contacts writes.
DERIVED_COLUMNS = (
    "vcard", "full_name", "sort_key", "email", "organisation", "search_text", "etag", "categories", "kind", "match_keys"
)  # fmt: skip


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
    contact.categories = derived.categories
    contact.kind = derived.kind
    contact.match_keys = derived.match_keys
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
        _free_import_hrefs(book, new)
        Contact.objects.bulk_create(new, batch_size=IMPORT_BATCH)
        Contact.objects.bulk_update(
            changed,
            [*DERIVED_COLUMNS, "updated"],
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


class PersonalBookError(Exception):
    """The personal book cannot be deleted (the browser and DAV clients are told so)."""


@transaction.atomic
def book_delete(*, book: AddressBook) -> None:
    """Deletes a book, its cards and its shares; never the personal book (PersonalBookError)."""
    if book.personal:
        raise PersonalBookError
    share_delete_all(collection=book)
    book.delete()


# ---------------------------------------------------------------- DAV writes (apps/dav)
class ContactPreconditionError(Exception):
    """An If-Match / If-None-Match condition of a DAV write does not hold (HTTP 412)."""


class ContactUidConflictError(Exception):
    """Another card of the book already has this UID (CardDAV no-uid-conflict, HTTP 409)."""

    def __init__(self, href: str) -> None:
        super().__init__(href)
        self.href = href


def _free_import_hrefs(book: AddressBook, new: list[Contact]) -> None:
    """New imported cards whose href a DAV client already uses for another card get a random one."""
    wanted = [c.href for c in new]
    taken = set(Contact.objects.filter(book=book, href__in=wanted).values_list("href", flat=True))
    seen: set[str] = set()
    for contact in new:
        if contact.href in taken or contact.href in seen:
            contact.href = f"{uuid.uuid4().hex}.vcf"
        seen.add(contact.href)


def _etag_condition_holds(current: Contact | None, if_match: list[str] | None, if_none_match: list[str] | None) -> bool:
    """RFC 9110 section 13.1.1/13.1.2 for writes: lists of unquoted etags, or ["*"]."""
    if if_match is not None:
        if current is None:
            return False
        if "*" not in if_match and current.etag not in if_match:
            return False
    return not (
        if_none_match is not None and current is not None and ("*" in if_none_match or current.etag in if_none_match)
    )


@transaction.atomic
def contact_put(
    *,
    book: AddressBook,
    href: str,
    text: str,
    if_match: list[str] | None = None,
    if_none_match: list[str] | None = None,
) -> tuple[Contact, bool]:
    """Stores a card sent by a DAV client under `href`: (contact, created).

    The text is kept exactly as sent (only a card without UID gets a UID line, RFC 6352 requires
    one); the list columns are derived from it. Raises vcards.VCardError, ContactPreconditionError,
    ContactUidConflictError.
    """
    card = vcards.parse_card(text)
    uid, stored = vcards.ensure_uid(text, card)
    rows = list(Contact.objects.select_for_update().filter(book=book).filter(Q(href=href) | Q(uid=uid)))
    current = next((c for c in rows if c.href == href), None)
    if not _etag_condition_holds(current, if_match, if_none_match):
        raise ContactPreconditionError
    other = next((c for c in rows if c.href != href and c.uid == uid), None)
    if other is not None:
        raise ContactUidConflictError(other.href)
    contact = current if current is not None else Contact(book=book, href=href)
    _apply(contact, stored, card if stored is text else vcards.parse_card(stored))
    contact.uid = uid
    contact.save()
    change_record(book, href)
    return contact, current is None


@transaction.atomic
def contact_delete_checked(*, book: AddressBook, href: str, if_match: list[str] | None = None) -> bool:
    """Deletes the card at `href` if it exists and `if_match` holds; False when there was none."""
    current = Contact.objects.select_for_update().filter(book=book, href=href).first()
    if current is None:
        if if_match is not None:
            raise ContactPreconditionError
        return False
    if not _etag_condition_holds(current, if_match, None):
        raise ContactPreconditionError
    contact_delete(contact=current)
    return True


# ---------------------------------------------------------------- groups, merge, background import (groups work)
def _rewrite_categories(contacts: list[Contact], change: Callable[[list[str]], list[str]]) -> int:
    """Rewrites each card's CATEGORIES with `change` (cards it leaves alone are not written).

    A card vobject cannot read any more is skipped rather than rewritten from its columns: its
    text is the truth and must not be lost. Returns how many cards were written.
    """
    written: list[Contact] = []
    now = timezone.now()
    for contact in contacts:
        current = groups.contact_categories(contact)
        wanted = change(current)
        if wanted == current:
            continue
        try:
            text = groups.with_categories(contact.vcard, wanted)
            _apply(contact, text, vcards.parse_card(text))
        except vcards.VCardError:
            continue
        contact.updated = now  # bulk_update does not touch auto_now fields
        written.append(contact)
    if written:
        Contact.objects.bulk_update(written, [*DERIVED_COLUMNS, "updated"], batch_size=IMPORT_BATCH)
        change_record_many(written[0].book, [c.href for c in written])
    return len(written)


@transaction.atomic
def contact_groups_set(*, contact: Contact, categories: list[str]) -> Contact:
    """Puts the contact in exactly these groups (its CATEGORIES); the change is logged for sync."""
    locked = Contact.objects.select_for_update().select_related("book").get(pk=contact.pk)
    _rewrite_categories([locked], lambda _current: categories)
    return locked


@transaction.atomic
def group_add(*, book: AddressBook, contact_ids: list[int], name: str) -> int:
    """Adds the book's cards `contact_ids` to group `name`; returns how many cards changed."""
    name = groups.clean_group_name(name)
    if not name:
        return 0
    cards = list(Contact.objects.select_for_update().filter(book=book, pk__in=contact_ids[:IMPORT_BATCH]))
    return _rewrite_categories(cards, lambda current: current if name in current else [*current, name])


@transaction.atomic
def group_remove(*, book: AddressBook, contact_ids: list[int], name: str) -> int:
    name = groups.clean_group_name(name)
    cards = list(Contact.objects.select_for_update().filter(book=book, pk__in=contact_ids[:IMPORT_BATCH]))
    return _rewrite_categories(cards, lambda current: [c for c in current if c != name])


@transaction.atomic
def group_rename(*, book: AddressBook, name: str, new_name: str) -> int:
    """Renames a group in every card of the book that has it (merging into `new_name` if it exists)."""
    name, new_name = groups.clean_group_name(name), groups.clean_group_name(new_name)
    if not new_name:
        raise vcards.VCardError(_("Give the group a name."))
    if not name:
        return 0
    cards = list(Contact.objects.select_for_update().filter(groups.categories_filter(name), book=book))
    return _rewrite_categories(
        cards, lambda current: list(dict.fromkeys(new_name if c == name else c for c in current))
    )


@transaction.atomic
def group_delete(*, book: AddressBook, name: str) -> int:
    """Removes the group from every card of the book; the cards themselves stay."""
    name = groups.clean_group_name(name)
    if not name:
        return 0
    cards = list(Contact.objects.select_for_update().filter(groups.categories_filter(name), book=book))
    return _rewrite_categories(cards, lambda current: [c for c in current if c != name])


@transaction.atomic
def contact_merge(*, keep: Contact, other: Contact) -> Contact:
    """Merges `other` into `keep` (same book): `keep`'s text gains what only `other` has, then
    `other` is deleted. Both changes are logged in the same transaction."""
    if keep.pk == other.pk or keep.book_id != other.book_id:
        raise vcards.VCardError(_("Only two different contacts of the same address book can be merged."))
    rows = Contact.objects.select_for_update().select_related("book").filter(pk__in=[keep.pk, other.pk])
    locked = {c.pk: c for c in rows}
    if len(locked) != 2:
        raise vcards.VCardError(_("One of the contacts was deleted meanwhile."))
    keep, other = locked[keep.pk], locked[other.pk]
    plan = merge.merged_card(keep=keep.vcard, other=other.vcard)
    _apply(keep, plan.text, vcards.parse_card(plan.text))
    keep.save()
    change_record(keep.book, keep.href)
    change_record(other.book, other.href, deleted=True)
    other.delete()
    return keep


def book_import_cards(
    *, book: AddressBook, text: str, progress: Callable[[int, int, ImportResult], None] | None = None
) -> ImportResult:
    """Imports a whole .vcf text in batches of IMPORT_BATCH cards, each batch its own transaction
    (apps.contacts.services.book_import), calling `progress(done, total, result)` after each.

    Errors keep the card's number in the whole file. Re-running after a crash is harmless: a card
    whose UID is already in the book replaces it.
    """
    chunks = list(vcards.split_cards(text))
    result = ImportResult()
    if not chunks:
        result.errors.append((0, _("The file holds no vCard.")))
    for start in range(0, len(chunks), IMPORT_BATCH):
        batch = book_import(book=book, data="".join(chunks[start : start + IMPORT_BATCH]).encode())
        result.created += batch.created
        result.updated += batch.updated
        result.errors += [(number + start, reason) for number, reason in batch.errors if number]
        if progress is not None:
            progress(min(start + IMPORT_BATCH, len(chunks)), len(chunks), result)
    return result


# ---------------------------------------------------------------- leaving a shared book
class BookLeaveError(Exception):
    """The user cannot leave this book: `code` is "owner" (delete it instead) or "group" (the share
    reaches them through a group, which only the owner or a manager removes)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def book_leave(*, user: User, book: AddressBook) -> None:
    """A grantee drops their own share of a book (the browser's "Leave", a DAV client's DELETE)."""
    if book.owner_id == user.pk:
        raise BookLeaveError("owner")
    own = shares_of(book).filter(grantee_user=user).first()
    if own is None:
        raise BookLeaveError("group")
    share_revoke(actor=user, collection=book, owner_id=book.owner_id, share_id=own.pk)


# ---------------------------------------------------------------- photos
@transaction.atomic
def contact_photo_set(*, contact: Contact, image: bytes | None) -> Contact:
    """Stores `image` (any PNG/JPEG/GIF/WebP, redrawn as a square JPEG) as the card's photo, or
    removes the photo (None). ValidationError when the image cannot be read; other properties kept."""
    jpeg = square_thumbnail(image, size=photos.PHOTO_SIZE, image_format="JPEG") if image is not None else None
    text = vcards.rewrite_card(contact.vcard, lambda card: photos.set_photo(card, jpeg))
    if text == contact.vcard:
        return contact
    _apply(contact, text, vcards.parse_card(text))
    contact.save()
    change_record(contact.book, contact.href)
    return contact
