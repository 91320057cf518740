"""Reads for the contacts pages and the DAV layer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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


def _readable_books(user: User, shared: dict[int, ShareLevel]) -> QuerySet[AddressBook]:
    """The user's own books and those `shared` with them (from collections_shared_with)."""
    return AddressBook.objects.filter(Q(owner=user) | Q(pk__in=list(shared)))


def books_for_user(*, user: User) -> list[VisibleBook]:
    """The user's own books, then the books shared with them (each with the level held)."""
    shared = collections_shared_with(user, AddressBook.share_kind)
    books = _readable_books(user, shared).select_related("owner")
    visible = [
        VisibleBook(
            book=b, level=ShareLevel.MANAGE if b.owner_id == user.pk else shared[b.pk], owned=b.owner_id == user.pk
        )
        for b in books
    ]
    visible.sort(key=lambda v: (not v.owned, not v.book.personal, v.book.name.casefold(), v.book.pk))
    return visible


def contact_list(*, book: AddressBook, query: str = "") -> QuerySet[Contact]:
    """The book's contacts by sort key; `query` keeps those whose name, mail, phone or organisation holds every word.

    Apple-style group cards (`kind="group"`) are groups, listed on the groups page, not people.
    """
    contacts = (
        Contact.objects.filter(book=book)
        .exclude(kind="group")
        .only("id", "full_name", "email", "organisation", "book_id")
    )
    for word in query.casefold().split()[:8]:
        contacts = contacts.filter(search_text__contains=word)
    return contacts.order_by("sort_key", "pk")


@dataclass(frozen=True)
class ContactPage:
    """One page of a book's contacts by keyset: no OFFSET and no COUNT, so page 500 of a
    50,000-card book costs what page 1 does (an index range on (book, sort_key, id))."""

    object_list: list[Contact]
    next_cursor: str  # "" on the last page
    previous_cursor: str  # "" on the first page

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.previous_cursor)


def _cursor(contact: Contact) -> str:
    return f"{contact.pk}:{contact.sort_key}"


def _keyset(cursor: str) -> tuple[int, str] | None:
    pk, _sep, sort_key = cursor.partition(":")
    return (int(pk), sort_key) if pk.isdigit() and len(cursor) < 1100 else None


def contact_page(*, book: AddressBook, query: str, after: str = "", before: str = "") -> ContactPage:
    """The page after the `after` cursor, before the `before` cursor, or the first page."""
    contacts = contact_list(book=book, query=query).only(
        "id", "full_name", "email", "organisation", "book_id", "sort_key"
    )
    backwards = _keyset(before) if before else None
    forwards = _keyset(after) if after and backwards is None else None
    if backwards is not None:
        pk, key = backwards
        rows = list(
            contacts.filter(Q(sort_key__lt=key) | Q(sort_key=key, pk__lt=pk), sort_key__lte=key).order_by(
                "-sort_key", "-pk"
            )[: PAGE_SIZE + 1]
        )
        more_before = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        return ContactPage(
            object_list=rows,
            next_cursor=_cursor(rows[-1]) if rows else "",
            previous_cursor=_cursor(rows[0]) if rows and more_before else "",
        )
    if forwards is not None:
        pk, key = forwards
        # The redundant `sort_key >= key` lets the database start an index range there instead of
        # reading the OR's two branches from the start of the book.
        contacts = contacts.filter(Q(sort_key__gt=key) | Q(sort_key=key, pk__gt=pk), sort_key__gte=key)
    rows = list(contacts[: PAGE_SIZE + 1])
    more_after = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return ContactPage(
        object_list=rows,
        next_cursor=_cursor(rows[-1]) if rows and more_after else "",
        previous_cursor=_cursor(rows[0]) if rows and forwards is not None else "",
    )


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
    book_ids = list(
        _readable_books(user, collections_shared_with(user, AddressBook.share_kind)).values_list("pk", flat=True)
    )
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
