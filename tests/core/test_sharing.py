"""The one sharing mechanism (apps/core/sharing.py) with the owner / colleague / outsider personas."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from apps.core.models import Share
from apps.core.sharing import (
    CollectionRef,
    ShareLevel,
    collections_shared_with,
    require_level,
    share_delete_all,
    share_grant,
    share_level_for,
    share_revoke,
    shares_of,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

BOOK = CollectionRef(kind="test.book", id=7)
OTHER_BOOK = CollectionRef(kind="test.book", id=8)
SAME_ID_OTHER_KIND = CollectionRef(kind="test.calendar", id=7)


@pytest.fixture
def team(colleague: Any) -> Group:
    group = Group.objects.create(name="team")
    colleague.groups.add(group)
    return group


def grant(owner: Any, grantee: Any = None, level: ShareLevel = ShareLevel.READ, **kwargs: Any) -> Share:
    return share_grant(
        actor=kwargs.pop("actor", owner),
        collection=kwargs.pop("collection", BOOK),
        owner_id=owner.pk,
        level=level,
        grantee_user=grantee,
        **kwargs,
    )


def test_nobody_has_a_level_before_a_share(owner: Any, colleague: Any, outsider: Any) -> None:
    assert share_level_for(colleague, BOOK) is None
    assert share_level_for(outsider, BOOK) is None
    assert collections_shared_with(colleague, "test.book") == {}


def test_owner_always_manages_their_collection(owner: Any) -> None:
    assert require_level(owner, BOOK, owner.pk, ShareLevel.MANAGE) == ShareLevel.MANAGE


def test_a_user_share_gives_exactly_its_level(owner: Any, colleague: Any) -> None:
    grant(owner, colleague, ShareLevel.WRITE)
    assert share_level_for(colleague, BOOK) == ShareLevel.WRITE
    assert require_level(colleague, BOOK, owner.pk, ShareLevel.READ) == ShareLevel.WRITE
    assert require_level(colleague, BOOK, owner.pk, ShareLevel.WRITE) == ShareLevel.WRITE
    with pytest.raises(Http404):
        require_level(colleague, BOOK, owner.pk, ShareLevel.MANAGE)


def test_a_share_reaches_only_its_collection(owner: Any, colleague: Any) -> None:
    grant(owner, colleague, ShareLevel.MANAGE)
    assert share_level_for(colleague, OTHER_BOOK) is None
    assert share_level_for(colleague, SAME_ID_OTHER_KIND) is None
    with pytest.raises(Http404):
        require_level(colleague, SAME_ID_OTHER_KIND, owner.pk, ShareLevel.READ)


def test_outsider_never_reaches_a_shared_collection(owner: Any, colleague: Any, outsider: Any, team: Group) -> None:
    grant(owner, colleague, ShareLevel.MANAGE)
    grant(owner, None, ShareLevel.MANAGE, grantee_group=team)
    assert share_level_for(outsider, BOOK) is None
    assert collections_shared_with(outsider, "test.book") == {}
    for needed in ShareLevel:
        with pytest.raises(Http404):
            require_level(outsider, BOOK, owner.pk, needed)


def test_outsider_cannot_grant_or_revoke(owner: Any, colleague: Any, outsider: Any) -> None:
    share = grant(owner, colleague, ShareLevel.READ)
    with pytest.raises(Http404):
        grant(owner, outsider, ShareLevel.MANAGE, actor=outsider)
    with pytest.raises(Http404):
        share_revoke(actor=outsider, collection=BOOK, owner_id=owner.pk, share_id=share.pk)
    assert share_level_for(colleague, BOOK) == ShareLevel.READ
    assert share_level_for(outsider, BOOK) is None


def test_granting_again_replaces_the_level(owner: Any, colleague: Any) -> None:
    first = grant(owner, colleague, ShareLevel.MANAGE)
    second = grant(owner, colleague, ShareLevel.READ)
    assert first.pk == second.pk
    assert Share.objects.count() == 1
    assert share_level_for(colleague, BOOK) == ShareLevel.READ
    assert second.granted_by_id == owner.pk


def test_a_group_share_reaches_its_members_only_while_they_are_members(
    owner: Any, colleague: Any, outsider: Any, team: Group
) -> None:
    grant(owner, None, ShareLevel.WRITE, grantee_group=team)
    assert share_level_for(colleague, BOOK) == ShareLevel.WRITE
    assert share_level_for(outsider, BOOK) is None
    colleague.groups.remove(team)
    assert share_level_for(colleague, BOOK) is None


def test_the_best_level_wins_between_own_and_group_shares(owner: Any, colleague: Any, team: Group) -> None:
    grant(owner, colleague, ShareLevel.READ)
    grant(owner, None, ShareLevel.MANAGE, grantee_group=team)
    other_team = Group.objects.create(name="other")
    colleague.groups.add(other_team)
    grant(owner, None, ShareLevel.WRITE, grantee_group=other_team)
    assert share_level_for(colleague, BOOK) == ShareLevel.MANAGE
    assert collections_shared_with(colleague, "test.book") == {BOOK.id: ShareLevel.MANAGE}


def test_collections_shared_with_lists_one_kind(owner: Any, colleague: Any, team: Group) -> None:
    grant(owner, colleague, ShareLevel.READ)
    grant(owner, None, ShareLevel.WRITE, grantee_group=team, collection=OTHER_BOOK)
    grant(owner, colleague, ShareLevel.MANAGE, collection=SAME_ID_OTHER_KIND)
    assert collections_shared_with(colleague, "test.book") == {7: ShareLevel.READ, 8: ShareLevel.WRITE}
    assert collections_shared_with(colleague, "test.calendar") == {7: ShareLevel.MANAGE}


def test_revoking_removes_the_access(owner: Any, colleague: Any) -> None:
    share = grant(owner, colleague, ShareLevel.WRITE)
    share_revoke(actor=owner, collection=BOOK, owner_id=owner.pk, share_id=share.pk)
    assert share_level_for(colleague, BOOK) is None
    with pytest.raises(Http404):
        require_level(colleague, BOOK, owner.pk, ShareLevel.READ)


def test_revoking_a_share_of_another_collection_is_not_found(owner: Any, colleague: Any) -> None:
    share = grant(owner, colleague, ShareLevel.WRITE, collection=OTHER_BOOK)
    with pytest.raises(Http404):
        share_revoke(actor=owner, collection=BOOK, owner_id=owner.pk, share_id=share.pk)
    assert share_level_for(colleague, OTHER_BOOK) == ShareLevel.WRITE


def test_a_manage_grantee_can_share_further_and_revoke(owner: Any, colleague: Any, outsider: Any) -> None:
    grant(owner, colleague, ShareLevel.MANAGE)
    third: Any = UserFactory(username="theo")
    share = grant(owner, third, ShareLevel.WRITE, actor=colleague)
    assert share.granted_by_id == colleague.pk
    assert share_level_for(third, BOOK) == ShareLevel.WRITE
    share_revoke(actor=colleague, collection=BOOK, owner_id=owner.pk, share_id=share.pk)
    assert share_level_for(third, BOOK) is None
    assert share_level_for(outsider, BOOK) is None


def test_a_write_grantee_cannot_share_further(owner: Any, colleague: Any, outsider: Any) -> None:
    mine = grant(owner, colleague, ShareLevel.WRITE)
    with pytest.raises(Http404):
        grant(owner, outsider, ShareLevel.READ, actor=colleague)
    with pytest.raises(Http404):
        grant(owner, colleague, ShareLevel.MANAGE, actor=colleague)  # nor raise their own level
    assert share_level_for(outsider, BOOK) is None
    assert share_level_for(colleague, BOOK) == ShareLevel.WRITE
    other = grant(owner, outsider, ShareLevel.READ)
    with pytest.raises(Http404):
        share_revoke(actor=colleague, collection=BOOK, owner_id=owner.pk, share_id=other.pk)
    # …but anyone may leave a collection shared with them.
    share_revoke(actor=colleague, collection=BOOK, owner_id=owner.pk, share_id=mine.pk)
    assert share_level_for(colleague, BOOK) is None


def test_a_share_needs_exactly_one_grantee(owner: Any, colleague: Any, team: Group) -> None:
    with pytest.raises(ValidationError):
        grant(owner, None, ShareLevel.READ)
    with pytest.raises(ValidationError):
        grant(owner, colleague, ShareLevel.READ, grantee_group=team)
    with pytest.raises(ValidationError):
        grant(owner, owner, ShareLevel.READ)  # the owner already has everything
    with pytest.raises(ValidationError):
        grant(owner, colleague, 9)  # type: ignore[arg-type]
    assert not Share.objects.exists()


def test_the_database_refuses_a_share_with_two_grantees(owner: Any, colleague: Any, team: Group) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Share.objects.create(
            collection_kind="test.book", collection_id=1, grantee_user=colleague, grantee_group=team, level=1
        )


def test_shares_of_lists_and_delete_all_removes_one_collection(owner: Any, colleague: Any, team: Group) -> None:
    grant(owner, colleague, ShareLevel.READ)
    grant(owner, None, ShareLevel.MANAGE, grantee_group=team)
    grant(owner, colleague, ShareLevel.READ, collection=OTHER_BOOK)
    assert [(s.grantee_user, s.grantee_group, s.level) for s in shares_of(BOOK)] == [
        (None, team, ShareLevel.MANAGE),
        (colleague, None, ShareLevel.READ),
    ]
    assert share_delete_all(collection=BOOK) == 2
    assert share_level_for(colleague, BOOK) is None
    assert share_level_for(colleague, OTHER_BOOK) == ShareLevel.READ


def test_anonymous_users_have_no_level(owner: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    grant(owner, UserFactory(username="ann"), ShareLevel.READ)
    assert share_level_for(AnonymousUser(), BOOK) is None
    with pytest.raises(Http404):
        require_level(AnonymousUser(), BOOK, owner.pk, ShareLevel.READ)


class FakeBook:
    """Stands for a collection model: what a model declares to be shareable."""

    share_kind: ClassVar[str] = "test.book"

    def __init__(self, pk: int) -> None:
        self.pk = pk


def test_a_collection_model_and_its_reference_name_the_same_shares(owner: Any, colleague: Any) -> None:
    grant(owner, colleague, ShareLevel.WRITE, collection=FakeBook(7))
    assert share_level_for(colleague, BOOK) == ShareLevel.WRITE
    assert share_level_for(colleague, FakeBook(8)) is None


def test_an_inactive_person_cannot_receive_a_share(owner: Any) -> None:
    gone: Any = UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError):
        grant(owner, gone, ShareLevel.READ)
    assert not Share.objects.exists()
