"""Permission-checked getters for address books and contacts. Views use these, never raw queries.

Owner-only for now; a share check (apps.core.sharing) belongs inside these functions, so no caller
changes when books become shareable. `write` is part of the signature for that day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from apps.contacts.models import AddressBook, Contact

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def address_book_for_user(
    *, user: AbstractBaseUser | AnonymousUser, book_id: int | str, write: bool = False
) -> AddressBook:
    """One of the user's address books, or 404 (never 403: another person's book does not exist for you)."""
    if not user.is_authenticated:
        raise Http404
    try:
        return AddressBook.objects.get(pk=book_id, owner_id=user.pk)
    except (AddressBook.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def contact_for_user(*, user: AbstractBaseUser | AnonymousUser, contact_id: int | str, write: bool = False) -> Contact:
    """A contact in one of the user's address books, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Contact.objects.select_related("book").get(pk=contact_id, book__owner_id=user.pk)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
