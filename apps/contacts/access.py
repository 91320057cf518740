"""Permission-checked getters for address books and contacts. Views, DAV and APIs use these only.

A book is reached by its owner (level "manage") or through a share (apps.core.sharing): read to
see it, write to change its cards, manage to rename and share it; only the owner deletes it. Falling short is a 404,
never a 403: another person's book does not exist for you.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from apps.contacts.models import AddressBook, Contact
from apps.core.sharing import ShareLevel, require_level

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

__all__ = ["ShareLevel", "address_book_for_user", "book_level", "contact_for_user"]


def _needed(write: bool, level: ShareLevel | None) -> ShareLevel:
    if level is not None:
        return level
    return ShareLevel.WRITE if write else ShareLevel.READ


def book_level(*, user: AbstractBaseUser | AnonymousUser, book: AddressBook) -> ShareLevel:
    """The user's level on a book they can reach (MANAGE for the owner), else 404."""
    return require_level(user, book, book.owner_id, ShareLevel.READ)


def address_book_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    book_id: int | str,
    write: bool = False,
    level: ShareLevel | None = None,
) -> AddressBook:
    """A book the user may read (`write=True`: change cards; `level=MANAGE`: rename/share/delete), or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        book = AddressBook.objects.select_related("owner").get(pk=book_id)
    except (AddressBook.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    require_level(user, book, book.owner_id, _needed(write, level))
    return book


def contact_for_user(*, user: AbstractBaseUser | AnonymousUser, contact_id: int | str, write: bool = False) -> Contact:
    """A contact in a book the user may read (`write=True`: may change), or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        contact = Contact.objects.select_related("book", "book__owner").get(pk=contact_id)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    require_level(user, contact.book, contact.book.owner_id, _needed(write, None))
    return contact
