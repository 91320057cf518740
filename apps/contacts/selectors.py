"""Reads for the contacts pages and the DAV layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from apps.contacts.models import AddressBook, Contact
from apps.core.sharing import ShareLevel, collections_shared_with

if TYPE_CHECKING:
    from apps.accounts.models import User

PAGE_SIZE = 50


@dataclass(frozen=True)
class VisibleBook:
    book: AddressBook
    level: ShareLevel
    owned: bool


def books_for_user(*, user: User) -> list[VisibleBook]:
    """The user's own books, then the books shared with them (each with the level held)."""
    shared = collections_shared_with(user, AddressBook.share_kind)
    books = AddressBook.objects.filter(Q(owner=user) | Q(pk__in=list(shared))).select_related("owner")
    visible = [
        VisibleBook(
            book=b, level=ShareLevel.MANAGE if b.owner_id == user.pk else shared[b.pk], owned=b.owner_id == user.pk
        )
        for b in books
    ]
    visible.sort(key=lambda v: (not v.owned, not v.book.personal, v.book.name.casefold(), v.book.pk))
    return visible


def contact_list(*, book: AddressBook, query: str = "") -> QuerySet[Contact]:
    """The book's contacts by sort key; `query` keeps those whose name, mail, phone or organisation holds every word."""
    contacts = Contact.objects.filter(book=book).only("id", "full_name", "email", "organisation", "book_id")
    for word in query.casefold().split()[:8]:
        contacts = contacts.filter(search_text__contains=word)
    return contacts.order_by("sort_key", "pk")


def contact_page(*, book: AddressBook, query: str, number: str | int | None) -> Page[Contact]:
    return Paginator(contact_list(book=book, query=query), PAGE_SIZE).get_page(number)
