"""Likely duplicates in a book, and the merged text of two cards.

Duplicates are found from the derived `Contact.match_keys` column (normalised mails, phones and
name, apps.contacts.normalise): cards sharing any key form one cluster. Merging keeps the first
card's own text and adds, through vobject, what only the other card has; the write itself is the
`contact_merge` service (apps.contacts.services).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import vobject
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext as _

from apps.contacts import groups, normalise, vcards
from apps.contacts.models import AddressBook, Contact

MAX_CLUSTERS = 100
DUPLICATES_CACHE_SECONDS = 3600
# A key shared by more cards than this ("n:info", a switchboard number) says nothing about identity.
MAX_CLUSTER_SIZE = 20
# Multi-valued properties copied from the other card when their value is new to the kept one.
MULTI = ("email", "tel", "url", "adr", "impp", "related")
# Single-valued properties copied only when the kept card has none.
SINGLE = ("nickname", "org", "title", "role", "bday", "anniversary", "photo", "logo", "gender", "tz", "geo")


@dataclass
class Cluster:
    contacts: list[Contact]
    # What the cards share, in words ("same mail: a@b.c")
    reasons: list[str] = field(default_factory=list)


def duplicate_clusters(*, book: AddressBook, limit: int = MAX_CLUSTERS) -> list[Cluster]:
    """Groups of cards of the book that share a normalised mail, phone or name, largest first."""
    # Finding shared keys reads every card's keys (about 0.3 s at 50,000 cards on PostgreSQL):
    # cached under the book's change-log token, which any card write moves.
    key = f"contacts:duplicates:{groups.book_version(book)}:{limit}"
    found = cache.get(key)
    if not isinstance(found, list):
        found = _clusters(book, limit)
        cache.set(key, found, timeout=DUPLICATES_CACHE_SECONDS)
    wanted = [i for ids, _keys in found for i in ids]
    contacts = Contact.objects.filter(pk__in=wanted).only("id", "full_name", "email", "organisation", "book_id")
    loaded = {c.pk: c for c in contacts}
    clusters = []
    for ids, keys in found:
        members = sorted((loaded[i] for i in ids if i in loaded), key=lambda c: (c.full_name.casefold(), c.pk))
        clusters.append(Cluster(members, [_reason(k) for k in keys]))
    return clusters


def _clusters(book: AddressBook, limit: int) -> list[tuple[list[int], list[str]]]:
    """(card ids, shared keys) of each cluster, largest first: cards sharing any key are joined."""
    by_key = _shared_keys(book)
    parent: dict[int, int] = {}

    def root(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]  # path halving keeps the trees flat
            item = parent[item]
        return item

    shared: list[tuple[str, int]] = []  # (key, one card holding it)
    for key, ids in by_key.items():
        if len(ids) < 2 or len(ids) > MAX_CLUSTER_SIZE:
            continue
        shared.append((key, ids[0]))
        for item in ids:
            parent.setdefault(item, item)
        first = root(ids[0])
        for other in ids[1:]:
            other_root = root(other)
            if other_root != first:
                parent[other_root] = first
    members: dict[int, list[int]] = defaultdict(list)
    for contact_id in list(parent):
        members[root(contact_id)].append(contact_id)
    reasons: dict[int, list[str]] = defaultdict(list)
    for key, holder in shared:
        reasons[root(holder)].append(key)
    roots = sorted(members, key=lambda r: (-len(members[r]), min(members[r])))[:limit]
    return [(sorted(members[r]), list(dict.fromkeys(reasons[r]))) for r in roots]


def _shared_keys(book: AddressBook) -> dict[str, list[int]]:
    """Each key held by 2 to MAX_CLUSTER_SIZE cards of the book, with those cards' ids.

    PostgreSQL groups the keys itself and returns only the shared ones (a few hundred rows for
    50,000 cards, instead of every card's keys); elsewhere Python does the same from the column.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT key, array_agg(id ORDER BY id) FROM contacts_contact, "
                "unnest(string_to_array(trim(both E'\\n' from match_keys), E'\\n')) AS key "
                "WHERE book_id = %s AND kind = '' AND match_keys <> '' "
                "GROUP BY key HAVING count(*) BETWEEN 2 AND %s",
                [book.pk, MAX_CLUSTER_SIZE],
            )
            return {key: list(ids) for key, ids in cursor.fetchall() if key}
    by_key: dict[str, list[int]] = defaultdict(list)
    rows = Contact.objects.filter(book=book, kind="").exclude(match_keys="").values_list("id", "match_keys")
    for contact_id, keys in rows.iterator(chunk_size=5000):
        for key in normalise.unframed(keys):
            by_key[key].append(contact_id)
    return by_key


def duplicates_of(*, contact: Contact, limit: int = 20) -> list[Contact]:
    """Other cards of the contact's book sharing one of its keys."""
    keys = normalise.unframed(contact.match_keys)
    if not keys:
        return []
    found: dict[int, Contact] = {}
    for key in keys:
        rows = (
            Contact.objects.filter(book_id=contact.book_id, kind="", match_keys__contains=f"\n{key}\n")
            .exclude(pk=contact.pk)
            .only("id", "full_name", "email", "organisation", "book_id")[:limit]
        )
        for row in rows:
            found.setdefault(row.pk, row)
    return sorted(found.values(), key=lambda c: (c.full_name.casefold(), c.pk))[:limit]


def _reason(key: str) -> str:
    kind, _sep, value = key.partition(":")
    if kind == "m":
        return _("same mail: %(value)s") % {"value": value}
    if kind == "p":
        return _("same phone number ending %(value)s") % {"value": value[-4:]}
    return _("same name")


# ---------------------------------------------------------------- the merged card
@dataclass
class MergePlan:
    text: str
    # What the kept card gains, in words, for the preview ("Mail: b@c.d")
    added: list[str]


def merged_card(*, keep: str, other: str) -> MergePlan:
    """`keep`'s text plus what only `other` has: new mails, phones, addresses, URLs, categories,
    the note appended, single properties (photo, birthday, organisation…) when `keep` lacks them.

    Raises VCardError when either card cannot be read.
    """
    extra = vcards.parse_card(other)
    added: list[str] = []

    def add_what_keep_lacks(kept: Any) -> None:
        for name in MULTI:
            present = {_value_key(name, line) for line in kept.contents.get(name, [])}
            for line in extra.contents.get(name, []):
                key = _value_key(name, line)
                if key and key not in present:
                    _regroup(line, extra, kept)
                    kept.contents.setdefault(name, []).append(line)
                    present.add(key)
                    added.append(f"{_label(name)}: {_shown(line)}")
        for name in SINGLE:
            if name not in kept.contents and extra.contents.get(name):
                kept.contents[name] = [_for_version(extra.contents[name][0], kept)]
                shown = "" if name in ("photo", "logo") else f": {_shown(extra.contents[name][0])}"
                added.append(_label(name) + shown)
        fields = vcards.read_fields(kept)
        other_fields = vcards.read_fields(extra)
        new_categories = [c for c in other_fields.categories if c not in fields.categories]
        if new_categories:
            fields.categories = [*fields.categories, *new_categories]
            added.extend(f"{_('Group')}: {c}" for c in new_categories)
        if other_fields.note and other_fields.note not in fields.note:
            fields.note = f"{fields.note}\n\n{other_fields.note}" if fields.note else other_fields.note
            added.append(_("Note"))
        vcards.apply_fields(kept, fields)

    # Only the properties the merge changes are rewritten; keep's other lines stay as they were.
    text = vcards.rewrite_card(keep, add_what_keep_lacks)
    return MergePlan(text=text, added=added)


def _regroup(line: Any, source: Any, target: Any) -> None:
    """A grouped line (Apple's `item1.EMAIL` with its `item1.X-ABLabel`) moves with its label under
    a group name the kept card does not use, so it cannot pick up one of the kept card's labels."""
    if not line.group:
        return
    used = {str(other.group).lower() for lines in target.contents.values() for other in lines if other.group}
    number = 1
    while f"item{number}" in used:
        number += 1
    old, new = line.group, f"item{number}"
    for lines in source.contents.values():
        for other in lines:
            if other.group == old and other is not line and other.name.lower() == "x-ablabel":
                label = vobject.base.ContentLine(other.name, other.params, other.value, group=new)
                target.contents.setdefault("x-ablabel", []).append(label)
    line.group = new


def _for_version(line: Any, card: Any) -> Any:
    """A 3.0 inline photo/logo (ENCODING=b) moved into a 4.0 card becomes the data: URI 4.0 expects."""
    version = str(card.contents["version"][0].value) if card.contents.get("version") else ""
    if version != "4.0" or not isinstance(line.value, bytes):
        return line
    kind = str((line.params.get("TYPE") or ["jpeg"])[0]).lower()
    uri = f"data:image/{kind};base64,{base64.b64encode(line.value).decode()}"
    return vobject.base.ContentLine(line.name, [], uri)


def _value_key(name: str, line: Any) -> str:
    value = line.value
    text = " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if name == "email":
        return normalise.mail_key(text)
    if name == "tel":
        return normalise.phone_key(text) or text.strip()
    return " ".join(text.casefold().split())


def _shown(line: Any) -> str:
    value = line.value
    text = " ".join(str(v) for v in value if v) if isinstance(value, list) else str(value)
    return " ".join(text.split())[:200]


def _label(name: str) -> str:
    labels = {
        "email": _("Mail"),
        "tel": _("Phone"),
        "url": _("Web address"),
        "adr": _("Address"),
        "impp": _("Chat address"),
        "related": _("Related person"),
        "nickname": _("Nickname"),
        "org": _("Organisation"),
        "title": _("Job title"),
        "role": _("Role"),
        "bday": _("Birthday"),
        "anniversary": _("Anniversary"),
        "photo": _("Photo"),
        "logo": _("Logo"),
        "gender": _("Gender"),
        "tz": _("Time zone"),
        "geo": _("Location"),
    }
    return labels.get(name, name.upper())
