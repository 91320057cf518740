"""Collected addresses (people the person wrote to or received from) and recipient autocomplete.

Autocomplete asks every registered `RecipientSource` and merges their answers by rank, so the
address book (a later issue) plugs in by appending its source to `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.contacts.selectors import contacts_suggest, directory_suggest
from apps.mail.addresses import Address
from apps.mail.models import CollectedAddress, Folder, FolderRole, Message

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

INDEX_SCAN_LIMIT = 5000  # senders read from the index at most, once per person (cached flag)


@dataclass(frozen=True)
class Suggestion:
    name: str
    address: str
    source: str  # "collected", later "contacts"…
    rank: float  # higher first

    @property
    def label(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


class RecipientSource(Protocol):
    name: str

    def suggest(self, *, owner_id: int, query: str, limit: int) -> list[Suggestion]: ...


def addresses_collect(*, owner_id: int, addresses: Iterable[Address], sent: bool = True) -> None:
    """Counts one use of each address (sent to it, or received from it)."""
    now = timezone.now()
    for entry in addresses:
        address = entry.address.strip().lower()
        if not address or "@" not in address or len(address) > 320:
            continue
        counter = "sent_count" if sent else "received_count"
        updated = CollectedAddress.objects.filter(owner_id=owner_id, address=address).update(
            **{counter: F(counter) + 1}, last_used=now
        )
        if updated:
            if entry.name:
                CollectedAddress.objects.filter(owner_id=owner_id, address=address, name="").update(
                    name=entry.name[:300]
                )
            continue
        try:
            with transaction.atomic():
                CollectedAddress.objects.create(
                    owner_id=owner_id, address=address, name=entry.name[:300], last_used=now, **{counter: 1}
                )
        except IntegrityError:  # another request collected it meanwhile
            CollectedAddress.objects.filter(owner_id=owner_id, address=address).update(**{counter: F(counter) + 1})


def addresses_collect_from_index(*, owner_id: int) -> int:
    """Fills the collected addresses from the index once: senders of received mail, recipients of
    sent mail. Later messages are collected when sent. Returns how many addresses were seen."""
    flag = f"mail:collected-from-index:{owner_id}"
    if cache.get(flag):
        return 0
    cache.set(flag, True, timeout=24 * 3600)
    received = (
        Message.objects.filter(account__owner_id=owner_id)
        .exclude(folder__role__in=[FolderRole.SENT, FolderRole.DRAFTS, FolderRole.JUNK, FolderRole.TRASH])
        .exclude(from_address="")
        .values("from_address")
        .annotate(uses=Count("pk"), name=Max("from_name"), last=Max("sort_date"))
        .order_by("-uses")[:INDEX_SCAN_LIMIT]
    )
    existing = set(CollectedAddress.objects.filter(owner_id=owner_id).values_list("address", flat=True))
    rows: dict[str, CollectedAddress] = {}
    for row in received:
        address = str(row["from_address"]).lower()
        if address in existing or "@" not in address or address in rows:
            continue
        rows[address] = CollectedAddress(
            owner_id=owner_id,
            address=address[:320],
            name=str(row["name"] or "")[:300],
            received_count=int(row["uses"]),
            last_used=row["last"],
        )
    sent_folders = Folder.objects.filter(account__owner_id=owner_id, role=FolderRole.SENT)
    for recipients in Message.objects.filter(folder__in=sent_folders).values_list("to", flat=True)[:INDEX_SCAN_LIMIT]:
        for pair in recipients or []:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            address = str(pair[1]).lower()
            if address in existing or "@" not in address:
                continue
            found = rows.setdefault(
                address, CollectedAddress(owner_id=owner_id, address=address[:320], name=str(pair[0])[:300])
            )
            found.sent_count += 1
    CollectedAddress.objects.bulk_create(rows.values(), ignore_conflicts=True)
    return len(rows)


class CollectedSource:
    """Addresses from sent and received mail: written-to counts more than received-from."""

    name = "collected"

    def suggest(self, *, owner_id: int, query: str, limit: int) -> list[Suggestion]:
        addresses_collect_from_index(owner_id=owner_id)
        rows = (
            CollectedAddress.objects.filter(owner_id=owner_id)
            .filter(Q(address__icontains=query) | Q(name__icontains=query))
            .order_by(F("last_used").desc(nulls_last=True))[:200]
        )
        found = [
            Suggestion(
                name=row.name,
                address=row.address,
                source=self.name,
                rank=row.sent_count * 3 + row.received_count + (5 if row.address.startswith(query.lower()) else 0),
            )
            for row in rows
        ]
        found.sort(key=lambda s: -s.rank)
        return found[:limit]


SOURCES: list[RecipientSource] = [CollectedSource()]


def recipients_suggest(
    *, user: AbstractBaseUser, query: str, limit: int = 8, sources: Sequence[RecipientSource] | None = None
) -> list[Suggestion]:
    """Suggestions for a To/Cc/Bcc field from every source, best first, one per address."""
    query = query.strip()[:100]
    query = query.replace("\x00", "")  # PostgreSQL refuses NUL in text: a hostile query found nothing, not a 500
    if len(query) < 1 or user.pk is None:
        return []
    merged: dict[str, Suggestion] = {}
    for source in sources if sources is not None else SOURCES:
        for suggestion in source.suggest(owner_id=int(user.pk), query=query, limit=limit):
            known = merged.get(suggestion.address)
            if known is None or suggestion.rank > known.rank:
                merged[suggestion.address] = suggestion
    return sorted(merged.values(), key=lambda s: -s.rank)[:limit]


# ---------------------------------------------------------------- contacts and directory (groups work)
# Ranked by use first: an address's collected count (sent x3 + received) is added to these, so
# among addresses never used the address books come before the directory, and any address used
# even once comes before both.
CONTACT_RANK = 0.5
DIRECTORY_RANK = 0.2
PREFIX_BONUS = 0.1  # a name or address starting with what was typed


def _uses(owner_id: int, addresses: list[str]) -> dict[str, int]:
    """How much each address was used (the collected rank without its prefix bonus).

    A contact or colleague the person writes to often is ranked by that use, even when the query
    matched their name in the card and not the collected address.
    """
    rows = CollectedAddress.objects.filter(owner_id=owner_id, address__in=addresses).values_list(
        "address", "sent_count", "received_count"
    )
    return {address: sent * 3 + received for address, sent, received in rows}


def _ranked(owner_id: int, people: Sequence[Any], source: str, base: float) -> list[Suggestion]:
    """Suggestions for `people` (each with name, address, prefix), ranked by use, then by `base`."""
    uses = _uses(owner_id, [p.address for p in people])
    return [
        Suggestion(
            name=p.name,
            address=p.address,
            source=source,
            rank=uses.get(p.address, 0) + base + (PREFIX_BONUS if p.prefix else 0),
        )
        for p in people
    ]


class ContactsSource:
    """Mails of the contacts in every address book the person can read (own and shared)."""

    name = "contacts"

    def suggest(self, *, owner_id: int, query: str, limit: int) -> list[Suggestion]:
        user = User.objects.filter(pk=owner_id).first()
        if user is None:
            return []
        return _ranked(owner_id, contacts_suggest(user=user, query=query, limit=limit), self.name, CONTACT_RANK)


class DirectorySource:
    """Colleagues: the active users of this instance."""

    name = "directory"

    def suggest(self, *, owner_id: int, query: str, limit: int) -> list[Suggestion]:
        return _ranked(owner_id, directory_suggest(query=query, limit=limit), self.name, DIRECTORY_RANK)


SOURCES += [ContactsSource(), DirectorySource()]
