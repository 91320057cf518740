"""Reads for the contacts pages and the DAV layer."""

from __future__ import annotations

from collections.abc import Iterable
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


# ---------------------------------------------------------------- sharing dialog (books work)
SHARE_CANDIDATES = 10


def share_candidates(*, text: str, exclude_ids: Iterable[int]) -> list[User]:
    """Active people a book may be shared with, found by username, mail or name.

    An exact username or mail wins alone (so "bob" finds bob, not every Bobby); otherwise every
    word must appear in the username, mail or names. At most SHARE_CANDIDATES people.
    """
    from apps.accounts.models import User

    text = text.strip()[:200]
    people = User.objects.filter(is_active=True).exclude(pk__in=list(exclude_ids))
    if not text:
        return []
    exact = list(people.filter(Q(username__iexact=text) | Q(email__iexact=text))[:2])
    if len(exact) == 1:
        return exact
    for word in text.split()[:5]:
        people = people.filter(
            Q(username__icontains=word)
            | Q(email__icontains=word)
            | Q(display_name__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
        )
    return list(people.order_by("display_name", "last_name", "username")[:SHARE_CANDIDATES])


# ---------------------------------------------------------------- composer autocomplete (groups work)
SUGGEST_SCAN = 200  # candidate rows read per source and keystroke, whatever the size of the books


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    # True when the name or the address starts with the query (ranked a little higher)
    prefix: bool


def _prefix(query: str, name: str, address: str) -> bool:
    return address.startswith(query) or any(word.startswith(query) for word in name.casefold().split())


def contacts_suggest(*, user: User, query: str, limit: int) -> list[Person]:
    """Mail addresses of contacts in every book the user can read whose name or mail holds `query`.

    Reads the derived columns only (`search_text`, `match_keys`), so every mail of a card is
    offered without parsing its vCard.
    """
    query = query.strip().casefold()
    if not query:
        return []
    shared = collections_shared_with(user, AddressBook.share_kind)
    book_ids = list(AddressBook.objects.filter(Q(owner=user) | Q(pk__in=list(shared))).values_list("pk", flat=True))
    rows = (
        Contact.objects.filter(book_id__in=book_ids, kind="", search_text__contains=query)
        .exclude(match_keys="")
        # No ORDER BY: sorting every match of a common prefix across 50,000 cards costs more than
        # the scan; the few found are ranked below (and by use in apps.mail.recipients).
        .order_by()
        .values_list("full_name", "match_keys")[:SUGGEST_SCAN]
    )
    found: list[Person] = []
    for name, keys in rows:
        mails = [key[2:] for key in keys.split("\n") if key.startswith("m:")]
        # The mails holding the query when there are some, else all (the name or organisation matched).
        matching = [m for m in mails if query in m] or mails
        found += [Person(name=name, address=m, prefix=_prefix(query, name, m)) for m in matching]
    found.sort(key=lambda p: not p.prefix)
    return found[:limit]


def directory_suggest(*, query: str, limit: int) -> list[Person]:
    """Active users of the instance (the directory of colleagues) by name, username or mail."""
    from apps.accounts.models import User

    query = query.strip()
    if not query:
        return []
    people = (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(email__icontains=query)
            | Q(display_name__icontains=query)
            | Q(first_name__icontains=query)
            | Q(last_name__icontains=query)
            | Q(username__icontains=query)
        )
        .order_by("display_name", "last_name", "username")[:SUGGEST_SCAN]
    )
    lowered = query.casefold()
    found = [
        Person(name=p.shown_name, address=p.email.lower(), prefix=_prefix(lowered, p.shown_name, p.email.lower()))
        for p in people
    ]
    found.sort(key=lambda p: not p.prefix)
    return found[:limit]
