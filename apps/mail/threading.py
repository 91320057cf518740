"""Conversations: messages grouped by Message-ID, In-Reply-To and References (JWZ-style), across folders.

The JWZ algorithm links every message to the ids it references, keeping a container for ids
whose message is missing. We keep only what grouping needs, and keep it in the database so the
sync can thread each batch as it arrives (newest first, Sent after Inbox):

* every message carries keys: its own Message-ID, then its In-Reply-To and References;
* `ThreadReference` maps each key ever seen in the account to a thread (JWZ's id table);
* a message joins the thread of any of its keys: the thread of a message it references, of a
  message that references it, or of a sibling that references the same missing parent;
* when a message links two threads, they merge (the older thread row survives).

Grouping is a union over keys, so cycles in References, missing parents, out-of-order arrival,
duplicate Message-IDs and a message stored in two folders need no special case.
Subject-only grouping is deliberately not done: a "Re:" without any reference stays on its own
(merging unrelated "Re: Hello" messages is worse than a split conversation).

Each batch costs a bounded number of queries (key lookup in chunks, one insert of new threads,
at most three statements for merges, one insert of keys), never one per message.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from django.db import connection
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from apps.mail.bulk import insert_rows, insert_rows_returning_ids
from apps.mail.models import Message, Thread, ThreadReference

LOOKUP_CHUNK = 900  # keys per IN (...) query: well under SQLite's variable limit
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|sv|vs|antw|rif|r)\s*(?:\[\d+\])?\s*[:\uff1a]\s*)+", re.IGNORECASE
)


class Threadable(Protocol):
    """What threading reads of a message about to be indexed (a Message, or the sync's IndexEntry)."""

    message_id: str
    in_reply_to: str
    references: str
    subject: str
    sort_date: datetime
    seen: bool
    thread_id: int | None


def thread_keys(*, message_id: str, in_reply_to: str, references: str) -> list[str]:
    """A message's keys: its own id first, then the ids it references (no duplicates)."""
    keys: list[str] = []
    seen: set[str] = set()
    for key in (message_id, *references.split(), in_reply_to):
        if key and key not in seen:
            seen.add(key)
            keys.append(key)
    return keys


def thread_subject(subject: str) -> str:
    """The subject without its reply and forward prefixes ("Re: Fwd: Lunch" → "Lunch")."""
    return _REPLY_PREFIX.sub("", subject).strip()[:1000]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, node: object) -> object:
        root = node
        while (parent := self.parent.setdefault(root, root)) != root:
            root = parent
        while node != root:  # path compression, iteratively: long References chains stay cheap
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: object, b: object) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a


def threads_assign(*, account_id: int, messages: Sequence[Threadable]) -> set[int]:
    """Sets `thread_id` on messages about to be inserted; returns the ids of the threads to refresh.

    Call inside the transaction that inserts the messages, then `threads_refresh` on the result
    once they are saved. Threads created here already have their counts (they hold only these
    messages), so only the existing threads that were joined or merged need the refresh.
    """
    if not messages:
        return set()
    groups = _UnionFind()
    keys_of: list[list[str]] = []
    for index, message in enumerate(messages):
        keys = thread_keys(
            message_id=message.message_id, in_reply_to=message.in_reply_to, references=message.references
        )
        keys_of.append(keys)
        groups.find(("m", index))
        for key in keys:
            groups.union(("m", index), ("k", key))
    known = _known_keys(account_id, sorted({key for keys in keys_of for key in keys}))
    for key, thread_id in known.items():
        groups.union(("k", key), ("t", thread_id))
    thread_of_group = _existing_threads(groups, known)
    to_refresh = set(thread_of_group.values())
    _new_threads(account_id, messages, groups, thread_of_group)

    new_references: dict[str, int] = {}
    for index, message in enumerate(messages):
        thread_id = thread_of_group[groups.find(("m", index))]
        message.thread_id = thread_id
        for key in keys_of[index]:
            if key not in known:
                new_references[key] = thread_id
    if new_references:
        # No conflict possible: `known` holds every key of the batch already stored (one sync per account).
        insert_rows(
            ThreadReference,
            ("account", "key", "thread"),
            [(account_id, key, thread_id) for key, thread_id in new_references.items()],
        )
    return to_refresh


def _known_keys(account_id: int, keys: list[str]) -> dict[str, int]:
    known: dict[str, int] = {}
    if not keys:
        return known
    if connection.vendor == "postgresql":  # one array parameter, not one per key
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT key, thread_id FROM {ThreadReference._meta.db_table} "  # noqa: S608
                "WHERE account_id = %s AND key = ANY(%s)",
                [account_id, keys],
            )
            known.update(cursor.fetchall())
        return known
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        known.update(
            ThreadReference.objects.filter(account_id=account_id, key__in=chunk).values_list("key", "thread_id")
        )
    return known


def _existing_threads(groups: _UnionFind, known: dict[str, int]) -> dict[object, int]:
    """Group → the thread it joins; a group touching several existing threads merges them."""
    existing: dict[object, set[int]] = defaultdict(set)
    for key, thread_id in known.items():
        existing[groups.find(("k", key))].add(thread_id)
    survivor_of: dict[int, int] = {}
    thread_of_group: dict[object, int] = {}
    for root, thread_ids in existing.items():
        survivor = min(thread_ids)
        thread_of_group[root] = survivor
        survivor_of.update({thread_id: survivor for thread_id in thread_ids if thread_id != survivor})
    if survivor_of:
        _threads_merge(survivor_of)
    return thread_of_group


def _new_threads(
    account_id: int, messages: Sequence[Threadable], groups: _UnionFind, thread_of_group: dict[object, int]
) -> None:
    new_groups: dict[object, list[Threadable]] = defaultdict(list)
    for index, message in enumerate(messages):
        root = groups.find(("m", index))
        if root not in thread_of_group:
            new_groups[root].append(message)
    if not new_groups:
        return
    roots = list(new_groups)
    ids = insert_rows_returning_ids(
        Thread, _THREAD_COLUMNS, [_new_thread(account_id, new_groups[root]) for root in roots]
    )
    for root, thread_id in zip(roots, ids, strict=True):
        thread_of_group[root] = thread_id


_THREAD_COLUMNS = ("account", "subject", "message_count", "unread_count", "last_date")


def _new_thread(account_id: int, messages: Sequence[Threadable]) -> tuple[int, str, int, int, datetime]:
    """A new Thread row's values (_THREAD_COLUMNS)."""
    if len(messages) == 1:
        (root,) = messages
        return account_id, thread_subject(root.subject), 1, int(not root.seen), root.sort_date
    # The root-most message names the conversation: the one referencing the fewest others.
    root = min(messages, key=lambda m: (len(m.references.split()) + bool(m.in_reply_to), m.sort_date))
    return (
        account_id,
        thread_subject(root.subject),
        len(messages),
        sum(not m.seen for m in messages),
        max(m.sort_date for m in messages),
    )


def _threads_merge(survivor_of: dict[int, int]) -> None:
    """Moves the messages and keys of merged threads to their survivor, then drops the merged rows."""
    losers = list(survivor_of)
    target = Case(
        *[When(thread_id=loser, then=Value(survivor)) for loser, survivor in survivor_of.items()],
        output_field=IntegerField(),
    )
    Message.objects.filter(thread_id__in=losers).update(thread_id=target)
    ThreadReference.objects.filter(thread_id__in=losers).update(thread_id=target)
    _threads_delete(Thread.objects.filter(pk__in=losers))


def threads_refresh(*, thread_ids: Iterable[int]) -> None:
    """Recomputes message_count, unread_count and last_date; threads left empty are deleted."""
    ids = sorted(set(thread_ids))
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        members = Message.objects.filter(thread_id=OuterRef("pk")).order_by().values("thread_id")
        Thread.objects.filter(pk__in=chunk).update(
            message_count=Coalesce(Subquery(members.annotate(n=Count("id")).values("n")), 0),
            unread_count=Coalesce(Subquery(members.filter(seen=False).annotate(n=Count("id")).values("n")), 0),
            last_date=Subquery(
                Message.objects.filter(thread_id=OuterRef("pk")).order_by("-sort_date").values("sort_date")[:1]
            ),
        )
        _threads_delete(Thread.objects.filter(pk__in=chunk, message_count=0))


def _threads_delete(threads: QuerySet[Thread]) -> None:
    """Deletes threads that hold no message any more, with their keys, in two statements.

    Django's collector would first select the rows and null Message.thread (SET_NULL), which
    is wasted work here: no message points to these threads.
    """
    ThreadReference.objects.filter(thread__in=threads).delete()
    threads._raw_delete(threads.db)


def thread_ids_of(*, message_filter: Q) -> set[int]:
    """The threads of the messages a filter selects (before they are deleted or changed)."""
    rows = Message.objects.filter(message_filter, thread__isnull=False).values_list("thread_id", flat=True)
    return {thread_id for thread_id in rows.distinct() if thread_id is not None}
