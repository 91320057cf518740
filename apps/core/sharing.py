"""The one sharing mechanism: address books now, calendars, task lists and folders later.

A `Share` row grants one collection to one user or one group at a level (read < write < manage).

The collection is referenced by a `kind` string ("contacts.addressbook", "calendar.calendar", …)
and a numeric id rather than by a content type. Why:
- the kind is part of the code, not of the database: no ContentType row to look up on every DAV
  request, nothing that changes when an app or model is renamed, fixtures stay portable;
- every collection model uses BigAutoField (settings.DEFAULT_AUTO_FIELD), so the id is a plain
  bigint that subqueries can compare with the collection's own primary key;
- a collection without its own table (a future IMAP folder share) can still be named.
The cost: no database cascade when a collection goes, so each collection's delete service calls
`share_delete_all` (and shares of an unknown collection grant nothing anyway).

Ownership stays on the collection (its `owner_id`); this module never guesses it, callers pass it.
Every refusal is `Http404`: a person without enough rights must not learn the collection exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from apps.core.models import Share, ShareLevel

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

    AnyUser = AbstractBaseUser | AnonymousUser

__all__ = [
    "CollectionRef",
    "ShareLevel",
    "Shareable",
    "collections_shared_with",
    "require_level",
    "share_delete_all",
    "share_grant",
    "share_level_for",
    "share_revoke",
    "shares_of",
]


class Shareable(Protocol):
    """A collection model declares its kind once: `share_kind: ClassVar[str] = "contacts.addressbook"`."""

    share_kind: ClassVar[str]
    pk: Any


@dataclass(frozen=True)
class CollectionRef:
    kind: str
    id: int


def collection_ref(collection: Shareable | CollectionRef) -> CollectionRef:
    if isinstance(collection, CollectionRef):
        return collection
    return CollectionRef(kind=collection.share_kind, id=int(collection.pk))


def _for_collection(ref: CollectionRef) -> QuerySet[Share]:
    return Share.objects.filter(collection_kind=ref.kind, collection_id=ref.id)


def _reaching(user: AnyUser) -> Q:
    """Shares that reach the user: their own, or one of their groups'."""
    return Q(grantee_user_id=user.pk) | Q(grantee_group__user=user.pk)


# ---------------------------------------------------------------- reads
def share_level_for(user: AnyUser, collection: Shareable | CollectionRef) -> ShareLevel | None:
    """The best level the user holds through their own shares and their groups', or None."""
    if not user.is_authenticated:
        return None
    ref = collection_ref(collection)
    best = _for_collection(ref).filter(_reaching(user)).aggregate(best=Max("level"))["best"]
    return ShareLevel(best) if best else None


def collections_shared_with(user: AnyUser, kind: str) -> dict[int, ShareLevel]:
    """Ids of the collections of `kind` shared with the user, each with the best level held.

    Callers list them with `Model.objects.filter(pk__in=...)`; the owner's own collections are
    not included (they are not shared with their owner).
    """
    if not user.is_authenticated:
        return {}
    rows = (
        Share.objects.filter(_reaching(user), collection_kind=kind)
        .values("collection_id")
        .annotate(best=Max("level"))
        .values_list("collection_id", "best")
    )
    return {collection_id: ShareLevel(best) for collection_id, best in rows}


def shares_of(collection: Shareable | CollectionRef) -> QuerySet[Share]:
    """Every grant of one collection (for its sharing dialog and DAV ACL properties)."""
    return (
        _for_collection(collection_ref(collection))
        .select_related("grantee_user", "grantee_group")
        .order_by("-level", "pk")
    )


def require_level(
    user: AnyUser, collection: Shareable | CollectionRef, owner_id: int | None, needed: ShareLevel
) -> ShareLevel:
    """For access functions: the user's level (MANAGE for the owner), or Http404 below `needed`."""
    if not user.is_authenticated:
        raise Http404
    if owner_id is not None and user.pk == owner_id:
        return ShareLevel.MANAGE
    level = share_level_for(user, collection)
    if level is None or level < needed:
        raise Http404
    return level


# ---------------------------------------------------------------- writes
@transaction.atomic
def share_grant(
    *,
    actor: AnyUser,
    collection: Shareable | CollectionRef,
    owner_id: int,
    level: ShareLevel,
    grantee_user: AbstractBaseUser | None = None,
    grantee_group: Group | None = None,
) -> Share:
    """Grants (or changes) one grantee's level. Only the owner or a "manage" grantee may.

    Upsert: granting again to the same grantee replaces the level.
    """
    require_level(actor, collection, owner_id, ShareLevel.MANAGE)
    if (grantee_user is None) == (grantee_group is None):
        raise ValidationError(_("Share with one person or one group."), code="grantee")
    if level not in ShareLevel.values:
        raise ValidationError(_("Unknown sharing level."), code="level")
    if grantee_user is not None and (grantee_user.pk == owner_id or not grantee_user.is_active):
        raise ValidationError(_("This person cannot receive a share of this collection."), code="grantee")
    ref = collection_ref(collection)
    share, _created = Share.objects.update_or_create(
        collection_kind=ref.kind,
        collection_id=ref.id,
        grantee_user_id=grantee_user.pk if grantee_user is not None else None,
        grantee_group=grantee_group,
        defaults={"level": ShareLevel(level), "granted_by_id": actor.pk},
    )
    return share


@transaction.atomic
def share_revoke(*, actor: AnyUser, collection: Shareable | CollectionRef, owner_id: int, share_id: int) -> None:
    """Removes one grant of this collection. Owner or "manage" grantee only; 404 otherwise.

    A grantee may always drop their own share (leaving a collection shared with them).
    """
    try:
        share = _for_collection(collection_ref(collection)).get(pk=share_id)
    except (Share.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if not (actor.is_authenticated and share.grantee_user_id == actor.pk):
        require_level(actor, collection, owner_id, ShareLevel.MANAGE)
    share.delete()


def share_delete_all(*, collection: Shareable | CollectionRef) -> int:
    """Called by a collection's delete service, in its transaction: the kind has no FK cascade."""
    deleted, _by_model = _for_collection(collection_ref(collection)).delete()
    return deleted
