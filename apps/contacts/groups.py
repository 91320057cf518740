"""Contact groups: vCard CATEGORIES, and Apple-style group cards read as groups.

A group is a category name shared by cards (the way Nextcloud and DAVx5's "categories" mode keep
them), so groups travel through CardDAV inside the cards themselves. Apple Contacts instead keeps
one card per group (KIND:group or X-ADDRESSBOOKSERVER-KIND:group) listing its members by UID;
those are shown as groups too, read-only.

Reads live here; the writes (rename, delete, add, remove) are services in apps.contacts.services
that call `with_categories` to rewrite each card's text.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet

from apps.contacts import normalise, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.changes import current_token

MAX_GROUP_NAME = 100
GROUPS_CACHE_SECONDS = 3600


@dataclass(frozen=True)
class Group:
    name: str
    count: int
    # The group card's id for an Apple-style group (read-only here), None for a category.
    card_id: int | None = None


def clean_group_name(name: str) -> str:
    """A category as stored: one line, trimmed; commas are kept (vobject escapes them)."""
    return " ".join(name.replace("\r", " ").replace("\n", " ").split())[:MAX_GROUP_NAME]


def book_groups(*, book: AddressBook) -> list[Group]:
    """The book's groups by name, each with its number of cards.

    Counted by the database on PostgreSQL (one pass over a narrow column, no vCard read) and
    cached under the book's change-log token: any card written (here, by import or by a DAV
    client) moves the token, so the cache is never stale and costs nothing to invalidate.
    """
    key = f"contacts:groups:{book_version(book)}"
    cached = cache.get(key)
    if isinstance(cached, list):
        return [Group(*item) for item in cached]
    counts = _category_counts(book)
    groups = [Group(name, count) for name, count in counts.items()]
    for card, members in _group_cards(book):
        present = Contact.objects.filter(book=book, uid__in=members).count() if members else 0
        groups.append(Group(card.full_name, present, card.pk))
    groups.sort(key=lambda g: (g.name.casefold(), g.card_id or 0))
    cache.set(key, [(g.name, g.count, g.card_id) for g in groups], timeout=GROUPS_CACHE_SECONDS)
    return groups


def book_version(book: AddressBook) -> str:
    """A cache key part that changes with every card write of the book: its newest change-log id.

    The creation time keeps a recycled book id (a restored database, SQLite reusing ids) off an
    old entry.
    """
    return f"{book.pk}:{book.created.timestamp()}:{current_token(book)}"


def _category_counts(book: AddressBook) -> Counter[str]:
    counts: Counter[str] = Counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, count(*) FROM contacts_contact, "
                "unnest(string_to_array(trim(both E'\\n' from categories), E'\\n')) AS name "
                "WHERE book_id = %s AND categories <> '' GROUP BY name",
                [book.pk],
            )
            for name, count in cursor.fetchall():
                if name:
                    counts[name] = count
        return counts
    rows = Contact.objects.filter(book=book).exclude(categories="").values_list("categories", flat=True)
    for column in rows.iterator(chunk_size=5000):
        counts.update(normalise.unframed(column))
    return counts


def group_members(*, book: AddressBook, name: str) -> QuerySet[Contact]:
    """The book's cards in category `name`, by sort key (paged by the caller)."""
    framed = normalise.framed([clean_group_name(name)])
    return (
        Contact.objects.filter(book=book, categories__contains=framed)
        .only("id", "full_name", "email", "organisation", "book_id")
        .order_by("sort_key", "pk")
    )


def group_card_members(*, group_card: Contact) -> QuerySet[Contact]:
    """The cards an Apple-style group card lists (MEMBER / X-ADDRESSBOOKSERVER-MEMBER), by sort key."""
    uids = _member_uids(group_card.vcard)
    return (
        Contact.objects.filter(book_id=group_card.book_id, uid__in=uids)
        .only("id", "full_name", "email", "organisation", "book_id")
        .order_by("sort_key", "pk")
    )


def contact_group_cards(*, contact: Contact) -> list[Contact]:
    """The Apple-style group cards of the contact's book that list this contact."""
    wanted = {contact.uid, _bare_uid(contact.uid)}
    return [g for g, members in _group_cards(contact.book) if wanted & members]


def contact_categories(contact: Contact) -> list[str]:
    return normalise.unframed(contact.categories)


def with_categories(text: str, categories: list[str]) -> str:
    """The card's text with exactly these CATEGORIES; every other property kept (apps.contacts.vcards)."""
    fields = vcards.read_fields(vcards.parse_card(text))
    fields.categories = list(dict.fromkeys(c for c in (clean_group_name(c) for c in categories) if c))
    return vcards.edit_card(text, fields)


def categories_filter(name: str) -> Q:
    return Q(categories__contains=normalise.framed([clean_group_name(name)]))


# ---------------------------------------------------------------- Apple-style group cards
def _group_cards(book: AddressBook) -> list[tuple[Contact, set[str]]]:
    # No ORDER BY: sorting by sort_key would lead the planner onto the sort index, through every card.
    cards = (
        Contact.objects.filter(book=book, kind="group").order_by().only("id", "full_name", "vcard", "book_id", "uid")
    )
    return [(card, _member_uids(card.vcard)) for card in cards]


def _member_uids(text: str) -> set[str]:
    """Member UIDs as written and without their urn:uuid: prefix (cards store either)."""
    try:
        card = vcards.parse_card(text)
    except vcards.VCardError:
        return set()
    uids: set[str] = set()
    for name in ("member", "x-addressbookserver-member"):
        for line in card.contents.get(name, []):
            value = str(line.value).strip()
            if value:
                uids |= {value, _bare_uid(value)}
    return uids


def _bare_uid(value: str) -> str:
    return value[9:] if value.lower().startswith("urn:uuid:") else value
