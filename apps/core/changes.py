"""The change log of collections (address books now, calendars later): what DAV sync reads.

Every write service of a collection's resources calls `change_record` inside its transaction, so
the log and the data can never disagree. A sync token is the id of the newest change a client has
seen; `changes_since` answers "what changed after it" from an index range, whatever the size of
the collection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from apps.core.models import Change
from apps.core.sharing import CollectionRef, Shareable, collection_ref

__all__ = ["ChangeSet", "change_record", "change_record_many", "changes_since", "current_token"]


def change_record(collection: Shareable | CollectionRef, name: str, *, deleted: bool = False) -> int:
    """Logs that resource `name` of the collection was written (or deleted); returns the new token."""
    ref = collection_ref(collection)
    row = Change.objects.create(collection_kind=ref.kind, collection_id=ref.id, name=name, deleted=deleted)
    return int(row.pk)


def change_record_many(collection: Shareable | CollectionRef, names: Iterable[str], *, deleted: bool = False) -> None:
    """One log row per name, in one INSERT (imports of thousands of cards)."""
    ref = collection_ref(collection)
    Change.objects.bulk_create(
        [Change(collection_kind=ref.kind, collection_id=ref.id, name=name, deleted=deleted) for name in names],
        batch_size=1000,
    )


def current_token(collection: Shareable | CollectionRef) -> int:
    """The id of the collection's newest change, 0 when it never changed."""
    ref = collection_ref(collection)
    # ORDER BY id DESC LIMIT 1 reads one index entry; MAX() may scan the collection's changes
    # when the planner has no statistics yet.
    newest = (
        Change.objects.filter(collection_kind=ref.kind, collection_id=ref.id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return int(newest or 0)


@dataclass(frozen=True)
class ChangeSet:
    token: int
    # name -> deleted?, the last change of each resource after the asked token
    changed: dict[str, bool]
    # True when `limit` cut the list short: the client asks again from `token`
    truncated: bool


def changes_since(collection: Shareable | CollectionRef, token: int, *, limit: int | None = None) -> ChangeSet:
    """What changed after `token`: each resource once, with its latest state.

    With `limit`, at most that many resources are returned and `token` is the last change
    included, so paging through a long log never skips nor repeats a change.
    """
    ref = collection_ref(collection)
    rows = (
        Change.objects.filter(collection_kind=ref.kind, collection_id=ref.id, id__gt=token)
        .order_by("id")
        .values_list("id", "name", "deleted")
    )
    changed: dict[str, bool] = {}
    newest = token
    truncated = False
    for change_id, name, deleted in rows.iterator(chunk_size=2000):
        if limit is not None and name not in changed and len(changed) >= limit:
            truncated = True
            break
        changed.pop(name, None)  # keep insertion order = order of each resource's last change
        changed[name] = deleted
        newest = change_id
    return ChangeSet(token=newest, changed=changed, truncated=truncated)
