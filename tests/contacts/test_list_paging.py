"""The contacts list pages by keyset (no OFFSET, no COUNT): walking it forwards or backwards gives
every contact once, in order, with or without a search."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.test import Client

from apps.contacts import selectors, services
from apps.contacts.models import AddressBook

pytestmark = pytest.mark.django_db

NEXT = re.compile(r'href="([^"]*)" rel="next"')
PREVIOUS = re.compile(r'href="([^"]*)" rel="prev"')
NAME = re.compile(r"<strong>([^<]+)</strong>")


@pytest.fixture
def book(owner: Any) -> AddressBook:
    book = services.book_ensure_personal(user=owner)
    # Same last names on purpose: the keyset must break ties by id, not skip or repeat them.
    cards = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-{n}\r\nFN:P{n:03d} {'Same' if n % 3 else 'Other'}\r\n"
        f"N:{'Same' if n % 3 else 'Other'};P{n:03d};;;\r\nEND:VCARD\r\n"
        for n in range(1, 131)
    )
    group = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:g-1\r\nKIND:group\r\nFN:Team\r\nMEMBER:urn:uuid:c-1\r\nEND:VCARD\r\n"
    services.book_import(book=book, data=(cards + group).encode())
    return book


def _walk(client: Client, url: str, link: re.Pattern[str]) -> list[list[str]]:
    pages = []
    while url:
        body = client.get(url).content.decode()
        pages.append([unescape(n) for n in NAME.findall(body)])
        found = link.search(body)
        url = "/contacts/" + unescape(found.group(1)) if found else ""
    return pages


def test_walking_forwards_then_backwards_shows_each_contact_once(owner_client: Client, book: AddressBook) -> None:
    expected = [c.full_name for c in selectors.contact_list(book=book)]
    assert len(expected) == 130
    assert "Team" not in expected  # a group card is not a person
    forwards = _walk(owner_client, f"/contacts/?book={book.pk}", NEXT)
    assert [len(p) for p in forwards] == [50, 50, 30]
    assert [name for page in forwards for name in page] == expected

    last = owner_client.get(f"/contacts/?book={book.pk}").content.decode()
    for _ in range(2):
        last = owner_client.get("/contacts/" + unescape(NEXT.search(last).group(1))).content.decode()  # type: ignore[union-attr]
    assert NEXT.search(last) is None
    start = "/contacts/" + unescape(PREVIOUS.search(last).group(1))  # type: ignore[union-attr]
    backwards = _walk(owner_client, start, PREVIOUS)
    assert [name for page in reversed(backwards) for name in page] == expected[:100]
    assert PREVIOUS.search(owner_client.get(start).content.decode()) is not None


def test_paging_keeps_the_search(owner_client: Client, book: AddressBook) -> None:
    pages = _walk(owner_client, f"/contacts/?book={book.pk}&q=same", NEXT)
    names = [name for page in pages for name in page]
    assert len(names) == 87
    assert all(name.endswith("Same") for name in names)


@pytest.mark.parametrize("cursor", ["junk", "99999999999999999999:x", ":", "1:" + "z" * 5000])
def test_a_foreign_cursor_never_fails(owner_client: Client, book: AddressBook, cursor: str) -> None:
    for side in ("after", "before"):
        response = owner_client.get("/contacts/", {"book": str(book.pk), side: cursor})
        assert response.status_code == 200


def test_an_empty_book_has_no_pager(owner: Any) -> None:
    book = services.book_create(owner=owner, name="Empty")
    page = selectors.contact_page(book=book, query="")
    assert page.object_list == []
    assert not page.has_other_pages
