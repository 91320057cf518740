"""Recipient autocomplete in the composer: collected addresses, then contacts, then the directory."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.contacts import services
from apps.core.sharing import ShareLevel, share_grant
from apps.mail.models import CollectedAddress
from apps.mail.recipients import recipients_suggest
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _card(uid: str, name: str, *mails: str) -> str:
    lines = "".join(f"EMAIL:{m}\r\n" for m in mails)
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\n{lines}END:VCARD\r\n"


@pytest.fixture
def own_book(owner: Any) -> Any:
    book = services.book_ensure_personal(user=owner)
    services.book_import(
        book=book,
        data=(
            _card("c-1", "Marie Curie", "Marie.Curie@Lab.test", "marie@home.test")
            + _card("c-2", "Pierre Curie", "pierre@lab.test")
            + _card("c-3", "Nobody Mailless")
        ).encode(),
    )
    return book


def _addresses(user: Any, query: str) -> list[tuple[str, str]]:
    return [(s.address, s.source) for s in recipients_suggest(user=user, query=query, limit=20)]


def test_contacts_offer_every_mail_of_a_matching_card(owner: Any, own_book: Any) -> None:
    found = _addresses(owner, "marie")
    assert ("marie.curie@lab.test", "contacts") in found
    assert ("marie@home.test", "contacts") in found
    assert ("pierre@lab.test", "contacts") not in found
    # A query in the address part offers the matching mails only.
    assert [a for a, source in _addresses(owner, "home.test") if source == "contacts"] == ["marie@home.test"]


def test_collected_first_then_contacts_then_directory_one_per_address(owner: Any, own_book: Any) -> None:
    UserFactory(username="curiosity", display_name="Curie Colleague", email="curie.colleague@ruche.test")
    UserFactory(username="marie2", display_name="Marie Curie", email="marie.curie@lab.test")  # also a contact
    now = timezone.now()
    # Written to twice, collected without a name: the query matches only the contact card's name.
    CollectedAddress.objects.create(owner=owner, address="pierre@lab.test", name="", sent_count=2, last_used=now)
    CollectedAddress.objects.create(
        owner=owner, address="curie.fan@mail.test", name="A Curie fan", received_count=1, last_used=now
    )
    found = _addresses(owner, "curie")
    assert found == [
        ("pierre@lab.test", "contacts"),  # used most (2 sent), found through the contact's name
        ("curie.fan@mail.test", "collected"),  # used once
        ("marie.curie@lab.test", "contacts"),  # never used: contacts, once, though the directory has it too
        ("curie.colleague@ruche.test", "directory"),
    ]


def test_shared_books_are_searched_and_unshared_ones_are_not(owner: Any, colleague: Any, outsider: Any) -> None:
    theirs = services.book_ensure_personal(user=colleague)
    services.book_import(book=theirs, data=_card("x-1", "Zoe Zebra", "zoe@zoo.test").encode())
    secret = services.book_ensure_personal(user=outsider)
    services.book_import(book=secret, data=_card("x-2", "Zack Zebra", "zack@secret.test").encode())
    assert _addresses(owner, "zebra") == []
    share_grant(actor=colleague, collection=theirs, owner_id=colleague.pk, grantee_user=owner, level=ShareLevel.READ)
    assert _addresses(owner, "zebra") == [("zoe@zoo.test", "contacts")]


def test_inactive_users_and_users_without_mail_are_not_in_the_directory(owner: Any) -> None:
    UserFactory(username="gone", display_name="Gone Person", email="gone@ruche.test", is_active=False)
    UserFactory(username="nomail", display_name="Gone Nomail", email="")
    UserFactory(username="here", display_name="Gone Not", email="here@ruche.test")
    assert _addresses(owner, "gone") == [("here@ruche.test", "directory")]


def test_the_composer_endpoint_returns_contacts(owner_client: Client, own_book: Any) -> None:
    results = owner_client.get(reverse("mail:recipients_suggest"), {"q": "pierre"}).json()["results"]
    assert results[0] == {
        "name": "Pierre Curie",
        "address": "pierre@lab.test",
        "label": "Pierre Curie <pierre@lab.test>",
        "source": "contacts",
    }


def test_hostile_queries_find_nothing_and_never_fail(owner: Any, own_book: Any) -> None:
    for query in ("%", "_", "\x00", "'; DROP TABLE contacts_contact; --", "é" * 500, "\n"):
        recipients_suggest(user=owner, query=query)
    assert _addresses(owner, "%") == []
    assert ("pierre@lab.test", "contacts") in _addresses(owner, "pierre")
