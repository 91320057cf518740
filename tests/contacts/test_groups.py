"""Contact groups: CATEGORIES kept in the cards, Apple-style group cards read as groups."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from apps.contacts import groups, services, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.changes import changes_since, current_token
from apps.core.sharing import ShareLevel, share_grant
from tests.contacts.test_vcards import CARD_30

pytestmark = pytest.mark.django_db

APPLE_GROUP = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:group-1\r\nFN:Climbing club\r\nN:Climbing club;;;;\r\n"
    "X-ADDRESSBOOKSERVER-KIND:group\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m-1\r\n"
    "X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m-2\r\nEND:VCARD\r\n"
)
KIND_GROUP = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:g-4\r\nFN:Board\r\nKIND:group\r\nMEMBER:urn:uuid:m-1\r\nEND:VCARD\r\n"
)


def _card(uid: str, name: str, extra: str = "") -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\n{extra}END:VCARD\r\n"


@pytest.fixture
def book(owner: Any) -> AddressBook:
    return services.book_ensure_personal(user=owner)


@pytest.fixture
def people(book: AddressBook) -> dict[str, Contact]:
    data = (
        CARD_30
        + _card("m-1", "Ada Lovelace", "CATEGORIES:Work,Friends\r\n")
        + _card("m-2", "Bob Marley", "CATEGORIES:Friends\r\n")
        + _card("m-3", "Cy Young")
    )
    services.book_import(book=book, data=data.encode())
    return {c.uid: c for c in Contact.objects.filter(book=book)}


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


def test_categories_are_derived_into_the_group_column(people: dict[str, Contact]) -> None:
    assert groups.contact_categories(people["card-30"]) == ["Work", "Chemistry"]
    assert groups.contact_categories(people["m-3"]) == []


def test_book_groups_count_the_cards_of_each_category(book: AddressBook, people: dict[str, Contact]) -> None:
    found = {(g.name, g.count) for g in groups.book_groups(book=book)}
    assert found == {("Chemistry", 1), ("Friends", 2), ("Work", 2)}


def test_group_members_match_whole_names_only(book: AddressBook, people: dict[str, Contact]) -> None:
    services.contact_groups_set(contact=people["m-3"], categories=["Workshop"])
    names = [c.full_name for c in groups.group_members(book=book, name="Work")]
    assert names == ["Ada Lovelace", "Jeanne Martin"]


def test_adding_to_a_group_rewrites_the_card_keeping_unknown_properties(
    book: AddressBook, people: dict[str, Contact]
) -> None:
    token = current_token(book)
    services.group_add(book=book, contact_ids=[people["card-30"].pk, people["m-3"].pk], name="  Chess  club ")
    jeanne = Contact.objects.get(pk=people["card-30"].pk)
    fields = vcards.read_fields(vcards.parse_card(jeanne.vcard))
    assert fields.categories == ["Work", "Chemistry", "Chess club"]
    assert "X-CUSTOM-THING;X-PARAM=keep:secret value" in jeanne.vcard
    assert jeanne.etag != people["card-30"].etag
    assert set(changes_since(book, token).changed) == {people["card-30"].href, people["m-3"].href}


def test_rename_rewrites_every_card_and_merges_into_an_existing_group(
    book: AddressBook, people: dict[str, Contact]
) -> None:
    token = current_token(book)
    count = services.group_rename(book=book, name="Friends", new_name="Work")
    assert count == 2
    assert groups.contact_categories(Contact.objects.get(uid="m-1")) == ["Work"]  # not twice
    assert groups.contact_categories(Contact.objects.get(uid="m-2")) == ["Work"]
    assert {(g.name, g.count) for g in groups.book_groups(book=book)} == {("Chemistry", 1), ("Work", 3)}
    assert set(changes_since(book, token).changed) == {people["m-1"].href, people["m-2"].href}


def test_delete_group_keeps_the_cards(book: AddressBook, people: dict[str, Contact]) -> None:
    assert services.group_delete(book=book, name="Friends") == 2
    assert Contact.objects.filter(book=book).count() == 4
    assert "Friends" not in {g.name for g in groups.book_groups(book=book)}
    assert "CATEGORIES" not in Contact.objects.get(uid="m-2").vcard


def test_a_group_name_with_a_comma_survives_a_round_trip(book: AddressBook, people: dict[str, Contact]) -> None:
    services.contact_groups_set(contact=people["m-3"], categories=["Smith, Jones & Co"])
    card = Contact.objects.get(uid="m-3")
    assert vcards.read_fields(vcards.parse_card(card.vcard)).categories == ["Smith, Jones & Co"]
    assert [c.uid for c in groups.group_members(book=book, name="Smith, Jones & Co")] == ["m-3"]


def test_apple_group_cards_are_groups_with_their_members(book: AddressBook, people: dict[str, Contact]) -> None:
    services.book_import(book=book, data=(APPLE_GROUP + KIND_GROUP).encode())
    club = Contact.objects.get(uid="group-1")
    assert club.kind == "group"
    assert Contact.objects.get(uid="urn:uuid:g-4").kind == "group"
    found = {(g.name, g.count, g.card_id is not None) for g in groups.book_groups(book=book)}
    assert ("Climbing club", 2, True) in found
    assert ("Board", 1, True) in found
    assert [c.uid for c in groups.group_card_members(group_card=club)] == ["m-1", "m-2"]
    assert {g.full_name for g in groups.contact_group_cards(contact=people["m-1"])} == {"Climbing club", "Board"}


def test_group_pages_show_members_and_counts(
    owner_client: Client, book: AddressBook, people: dict[str, Contact]
) -> None:
    body = owner_client.get(reverse("contacts:groups", args=[book.pk])).content.decode()
    assert "Friends" in body
    response = owner_client.get(reverse("contacts:group", args=[book.pk]) + "?" + urlencode({"name": "Friends"}))
    body = response.content.decode()
    assert "Ada Lovelace" in body
    assert "Bob Marley" in body
    assert "Jeanne Martin" not in body
    listing = owner_client.get(reverse("contacts:list") + f"?book={book.pk}").content.decode()
    assert 'name="name"' in listing  # the group filter in the list's tools
    assert "Friends (2)" in listing


def test_contact_page_adds_and_removes_a_group(owner_client: Client, people: dict[str, Contact]) -> None:
    contact = people["m-3"]
    url = reverse("contacts:contact_groups", args=[contact.pk])
    owner_client.post(url, {"add": "Neighbours"})
    assert groups.contact_categories(Contact.objects.get(pk=contact.pk)) == ["Neighbours"]
    page = owner_client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "Neighbours" in page
    owner_client.post(url, {"remove": "Neighbours"})
    assert groups.contact_categories(Contact.objects.get(pk=contact.pk)) == []


def test_rename_and_delete_pages(owner_client: Client, book: AddressBook, people: dict[str, Contact]) -> None:
    owner_client.post(reverse("contacts:group_rename", args=[book.pk]), {"name": "Friends", "new_name": "Pals"})
    assert {g.name for g in groups.book_groups(book=book)} == {"Chemistry", "Pals", "Work"}
    response = owner_client.post(reverse("contacts:group_rename", args=[book.pk]), {"name": "Pals", "new_name": " "})
    assert response.status_code == 302  # refused with a message, nothing lost
    assert "Pals" in {g.name for g in groups.book_groups(book=book)}
    owner_client.post(reverse("contacts:group_delete", args=[book.pk]), {"name": "Pals"})
    assert {g.name for g in groups.book_groups(book=book)} == {"Chemistry", "Work"}


def test_bulk_remove_from_the_group_page(owner_client: Client, book: AddressBook, people: dict[str, Contact]) -> None:
    owner_client.post(
        reverse("contacts:group_remove", args=[book.pk]),
        {"name": "Friends", "contact": [str(people["m-1"].pk), str(people["m-2"].pk), "junk"]},
    )
    assert "Friends" not in {g.name for g in groups.book_groups(book=book)}


def test_reader_of_a_shared_book_sees_groups_but_cannot_change_them(
    owner: Any, colleague: Any, book: AddressBook, people: dict[str, Contact]
) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, grantee_user=colleague, level=ShareLevel.READ)
    client = Client()
    client.force_login(colleague)
    assert client.get(reverse("contacts:groups", args=[book.pk])).status_code == 200
    page = client.get(reverse("contacts:detail", args=[people["m-1"].pk])).content.decode()
    assert "Friends" in page
    assert reverse("contacts:contact_groups", args=[people["m-1"].pk]) not in page
    assert client.post(reverse("contacts:group_delete", args=[book.pk]), {"name": "Friends"}).status_code == 404
    assert client.post(reverse("contacts:contact_groups", args=[people["m-1"].pk]), {"add": "x"}).status_code == 404
    assert "Friends" in {g.name for g in groups.book_groups(book=book)}


def test_outsider_gets_404_on_every_group_url(
    outsider_client: Client, book: AddressBook, people: dict[str, Contact]
) -> None:
    contact = people["m-1"]
    gets = [
        reverse("contacts:groups", args=[book.pk]),
        reverse("contacts:group", args=[book.pk]) + "?name=Friends",
        reverse("contacts:duplicates", args=[book.pk]),
        reverse("contacts:merge", args=[contact.pk]),
        reverse("contacts:import_background", args=[book.pk]),
    ]
    posts = [
        (reverse("contacts:group_rename", args=[book.pk]), {"name": "Friends", "new_name": "Mine"}),
        (reverse("contacts:group_delete", args=[book.pk]), {"name": "Friends"}),
        (reverse("contacts:group_remove", args=[book.pk]), {"name": "Friends", "contact": [str(contact.pk)]}),
        (reverse("contacts:contact_groups", args=[contact.pk]), {"add": "Mine"}),
        (reverse("contacts:merge", args=[contact.pk]), {"other": str(people["m-2"].pk)}),
    ]
    for url in gets:
        assert outsider_client.get(url).status_code == 404, url
    for url, data in posts:
        assert outsider_client.post(url, data).status_code == 404, url
    assert {(g.name, g.count) for g in groups.book_groups(book=book)} == {("Chemistry", 1), ("Friends", 2), ("Work", 2)}
    assert Contact.objects.filter(book=book).count() == 4


def test_hostile_group_input_is_refused_cleanly(
    owner_client: Client, book: AddressBook, people: dict[str, Contact]
) -> None:
    url = reverse("contacts:group", args=[book.pk])
    assert owner_client.get(url + "?card=abc").status_code == 404
    assert owner_client.get(url + f"?card={people['m-1'].pk}").status_code == 404  # not a group card
    assert owner_client.get(url).status_code == 302
    long_name = "x" * 5000 + "\r\nEND:VCARD"
    owner_client.post(reverse("contacts:contact_groups", args=[people["m-3"].pk]), {"add": long_name})
    card = Contact.objects.get(uid="m-3")
    assert vcards.parse_card(card.vcard)  # still one valid card
    assert groups.contact_categories(card) == [("x" * 5000 + " END:VCARD")[: groups.MAX_GROUP_NAME]]


def test_group_page_pages_without_counting(owner_client: Client, book: AddressBook) -> None:
    data = "".join(_card(f"p-{n:03d}", f"Member {n:03d}", "CATEGORIES:Big\r\n") for n in range(55))
    services.book_import(book=book, data=data.encode())
    url = reverse("contacts:group", args=[book.pk]) + "?name=Big"
    first = owner_client.get(url).content.decode()
    assert "Member 049" in first
    assert "Member 050" not in first
    assert "page=2" in first
    second = owner_client.get(url + "&page=2").content.decode()
    assert "Member 050" in second
    assert "Member 054" in second
    assert "page=3" not in second
    assert "page=1" in second
    for junk in ("0", "-1", "x", "99999999999"):
        assert "Member 000" in owner_client.get(url + f"&page={junk}").content.decode()


def test_group_counts_follow_every_card_write(book: AddressBook, people: dict[str, Contact]) -> None:
    assert ("Friends", 2) in {(g.name, g.count) for g in groups.book_groups(book=book)}  # now cached
    services.contact_create(book=book, fields=vcards.CardFields(full_name="New One", categories=["Friends"]))
    assert ("Friends", 3) in {(g.name, g.count) for g in groups.book_groups(book=book)}
    services.contact_delete(contact=Contact.objects.get(uid="m-2"))
    assert ("Friends", 2) in {(g.name, g.count) for g in groups.book_groups(book=book)}


def test_edit_form_names_the_books_groups(owner_client: Client, people: dict[str, Contact]) -> None:
    body = owner_client.get(reverse("contacts:edit", args=[people["m-3"].pk])).content.decode()
    assert "Groups of this book: Chemistry, Friends, Work" in body


def test_contact_page_of_a_shared_book_names_the_book_and_links_to_conversations(
    owner: Any, colleague: Any, book: AddressBook, people: dict[str, Contact]
) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, grantee_user=colleague, level=ShareLevel.READ)
    client = Client()
    client.force_login(colleague)
    body = client.get(reverse("contacts:detail", args=[people["card-30"].pk])).content.decode()
    assert "shared by Olivia Owner" in body
    assert reverse("mail:search") + "?q=jeanne%40acme.test" in body  # "Show conversations"
    assert reverse("contacts:merge", args=[people["card-30"].pk]) not in body  # reading is not writing
