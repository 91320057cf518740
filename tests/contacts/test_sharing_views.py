"""The sharing page of an address book: grant to a person or a group, change a level, revoke, leave,
and the errors said in plain words."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.contacts import services, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.models import Share
from apps.core.sharing import ShareLevel, share_grant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def book(owner: Any) -> AddressBook:
    book = services.book_create(owner=owner, name="Team")
    services.contact_create(book=book, fields=vcards.CardFields(full_name="Tina Team"))
    return book


@pytest.fixture
def team(colleague: Any) -> Group:
    group = Group.objects.create(name="Sales")
    colleague.groups.add(group)
    return group


def share_url(book: AddressBook) -> str:
    return reverse("contacts:book_share", args=[book.pk])


def post_share(client: Client, book: AddressBook, **data: Any) -> Any:
    return client.post(share_url(book), {"action": "grant", "level": "1", **data})


# ---------------------------------------------------------------- granting to a person
@pytest.mark.parametrize("typed", ["colin", "COLIN@example.test", "Colin Colleague", "  colleague "])
def test_owner_shares_with_a_person_found_by_username_mail_or_name(
    owner: Any, colleague: Any, book: AddressBook, typed: str
) -> None:
    response = post_share(client_for(owner), book, person=typed, level="2")
    assert response.status_code == 302
    share = Share.objects.get(collection_id=book.pk)
    assert (share.grantee_user, share.level) == (colleague, ShareLevel.WRITE)
    page = client_for(owner).get(share_url(book)).content.decode()
    assert "Colin Colleague" in page


def test_the_grant_is_listed_with_its_level(owner: Any, colleague: Any, book: AddressBook) -> None:
    client = client_for(owner)
    response = post_share(client, book, person="colin", level="3")
    page = client.get(response["Location"]).content.decode()
    assert "Shared with Colin Colleague." in page
    share = Share.objects.get()
    assert '<option value="3" selected>Manage</option>' in page
    assert f'name="share" value="{share.pk}"' in page


def test_an_unknown_person_is_said_plainly(owner: Any, book: AddressBook) -> None:
    response = post_share(client_for(owner), book, person="nobody-here")
    assert response.status_code == 400
    assert "Nobody active matches “nobody-here”." in response.content.decode()
    assert not Share.objects.exists()


def test_an_inactive_person_cannot_be_found(owner: Any, book: AddressBook) -> None:
    UserFactory(username="gone", display_name="Gone Person", is_active=False)
    response = post_share(client_for(owner), book, person="gone")
    assert response.status_code == 400
    assert "Nobody active matches" in response.content.decode()
    assert not Share.objects.exists()


def test_sharing_with_yourself_is_refused_plainly(owner: Any, book: AddressBook) -> None:
    for typed in ("olivia", "OLIVIA@example.test"):
        response = post_share(client_for(owner), book, person=typed)
        assert response.status_code == 400
        assert "You cannot share an address book with yourself." in response.content.decode()
    assert not Share.objects.exists()


def test_a_manage_grantee_cannot_share_with_the_owner(owner: Any, colleague: Any, book: AddressBook) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.MANAGE, grantee_user=colleague)
    response = post_share(client_for(colleague), book, person="olivia")
    assert response.status_code == 400
    assert "Olivia Owner owns this address book already." in response.content.decode()
    assert Share.objects.count() == 1


def test_several_matches_are_offered_to_choose_from(owner: Any, book: AddressBook) -> None:
    first: Any = UserFactory(username="marie.a", display_name="Marie Arnaud")
    UserFactory(username="marie.b", display_name="Marie Bernard")
    client = client_for(owner)
    response = post_share(client, book, person="marie")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Several people match “marie”: choose one" in body
    assert "Marie Arnaud" in body
    assert "Marie Bernard" in body
    assert not Share.objects.exists()
    response = post_share(client, book, person="marie", person_id=str(first.pk))
    assert response.status_code == 302
    assert Share.objects.get().grantee_user == first


def test_a_person_and_a_group_at_once_is_refused(owner: Any, book: AddressBook, team: Group) -> None:
    response = post_share(client_for(owner), book, person="colin", group=str(team.pk))
    assert response.status_code == 400
    assert "Choose one person or one group." in response.content.decode()
    assert not Share.objects.exists()


def test_a_bad_level_is_refused(owner: Any, book: AddressBook) -> None:
    response = post_share(client_for(owner), book, person="colin", level="9")
    assert response.status_code == 400
    assert not Share.objects.exists()


# ---------------------------------------------------------------- changing and revoking
def test_change_a_level_then_revoke(owner: Any, colleague: Any, book: AddressBook) -> None:
    share = share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.READ, grantee_user=colleague)
    client = client_for(owner)
    assert client.post(share_url(book), {"action": "level", "share": share.pk, "level": "2"}).status_code == 302
    share.refresh_from_db()
    assert share.level == ShareLevel.WRITE
    assert client.post(share_url(book), {"action": "revoke", "share": share.pk}).status_code == 302
    assert not Share.objects.exists()
    assert client_for(colleague).get(reverse("contacts:list"), {"book": book.pk}).status_code == 404


def test_a_share_of_another_book_cannot_be_changed_through_this_one(
    owner: Any, colleague: Any, outsider: Any, book: AddressBook
) -> None:
    theirs = services.book_create(owner=outsider, name="Oscar's")
    other = share_grant(
        actor=outsider, collection=theirs, owner_id=outsider.pk, level=ShareLevel.READ, grantee_user=colleague
    )
    client = client_for(owner)
    assert client.post(share_url(book), {"action": "revoke", "share": other.pk}).status_code == 404
    assert client.post(share_url(book), {"action": "level", "share": other.pk, "level": "3"}).status_code == 404
    assert client.post(share_url(book), {"action": "revoke", "share": "x"}).status_code == 404
    other.refresh_from_db()
    assert other.level == ShareLevel.READ


def test_a_read_or_write_grantee_cannot_open_the_sharing_page(owner: Any, colleague: Any, book: AddressBook) -> None:
    for level in (ShareLevel.READ, ShareLevel.WRITE):
        share = share_grant(actor=owner, collection=book, owner_id=owner.pk, level=level, grantee_user=colleague)
        client = client_for(colleague)
        assert client.get(share_url(book)).status_code == 404
        # Not even to raise their own level.
        response = client.post(share_url(book), {"action": "level", "share": share.pk, "level": "3"})
        assert response.status_code == 404
        share.refresh_from_db()
        assert share.level == level


# ---------------------------------------------------------------- groups
def test_a_group_share_reaches_its_members_only(
    owner: Any, colleague: Any, outsider: Any, book: AddressBook, team: Group
) -> None:
    response = post_share(client_for(owner), book, group=str(team.pk), level="1")
    assert response.status_code == 302
    assert Share.objects.get().grantee_group == team
    body = client_for(colleague).get(reverse("contacts:list"), {"book": book.pk}).content.decode()
    assert "Tina Team" in body
    assert client_for(outsider).get(reverse("contacts:list"), {"book": book.pk}).status_code == 404
    colleague.groups.remove(team)
    assert client_for(colleague).get(reverse("contacts:list"), {"book": book.pk}).status_code == 404


def test_the_sharing_page_lists_groups_only_when_there_are_some(owner: Any, book: AddressBook) -> None:
    assert "Or a group" not in client_for(owner).get(share_url(book)).content.decode()
    Group.objects.create(name="Support")
    assert "Or a group" in client_for(owner).get(share_url(book)).content.decode()


# ---------------------------------------------------------------- leaving
def test_a_grantee_leaves_a_book_shared_with_them(owner: Any, colleague: Any, book: AddressBook) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.WRITE, grantee_user=colleague)
    client = client_for(colleague)
    body = client.get(reverse("contacts:list"), {"book": book.pk}).content.decode()
    assert "Leave this book" in body
    response = client.post(reverse("contacts:book_leave", args=[book.pk]), follow=True)
    assert "You left “Team”." in response.content.decode()
    assert not Share.objects.exists()
    assert client.get(reverse("contacts:list"), {"book": book.pk}).status_code == 404
    assert Contact.objects.filter(book=book).count() == 1  # the owner's cards stay


def test_a_group_share_cannot_be_left_alone(owner: Any, colleague: Any, book: AddressBook, team: Group) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.READ, grantee_group=team)
    response = client_for(colleague).post(reverse("contacts:book_leave", args=[book.pk]), follow=True)
    assert "reaches you through a group" in response.content.decode()
    assert Share.objects.count() == 1


def test_the_owner_does_not_leave_their_own_book(owner: Any, book: AddressBook) -> None:
    client_for(owner).post(reverse("contacts:book_leave", args=[book.pk]))
    assert AddressBook.objects.filter(pk=book.pk).exists()


def test_an_outsider_cannot_leave_or_share(owner: Any, colleague: Any, outsider: Any, book: AddressBook) -> None:
    share = share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.READ, grantee_user=colleague)
    client = client_for(outsider)
    assert client.post(reverse("contacts:book_leave", args=[book.pk])).status_code == 404
    assert client.post(share_url(book), {"action": "revoke", "share": share.pk}).status_code == 404
    assert post_share(client, book, person="oscar", level="3").status_code == 404
    assert Share.objects.get() == share


@pytest.mark.parametrize(
    "data",
    [
        {"person_id": "abc"},
        {"person_id": "999999"},
        {"group": "999999"},
        {"group": "x"},
        {"person": "x" * 5000},
        {"person": "colin", "level": ""},
        {},
    ],
)
def test_hostile_share_input_is_refused_with_400(owner: Any, colleague: Any, book: AddressBook, data: Any) -> None:
    response = client_for(owner).post(share_url(book), {"action": "grant", "level": "1", **data})
    assert response.status_code == 400
    assert not Share.objects.exists()


def test_an_unknown_action_is_refused(owner: Any, book: AddressBook) -> None:
    assert client_for(owner).post(share_url(book), {"action": "explode"}).status_code == 400
