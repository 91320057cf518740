from __future__ import annotations

from typing import Any

import pytest

from apps.contacts import services, vcards
from apps.contacts.models import AddressBook, Contact
from tests.contacts.test_vcards import CARD_30, CARD_40

pytestmark = pytest.mark.django_db


def _card(number: int) -> str:
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bulk-{number}\r\nFN:Person {number:04d}\r\n"
        f"EMAIL:p{number}@x.test\r\nEND:VCARD\r\n"
    )


def test_personal_book_is_created_once(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    assert services.book_ensure_personal(user=owner) == book
    assert AddressBook.objects.filter(owner=owner).count() == 1
    assert book.name == "Contacts"


def test_create_update_delete_contact(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    contact = services.contact_create(
        book=book, fields=vcards.CardFields(given="Ana", family="Lima", emails=[vcards.Typed("ana@x.test", [])])
    )
    assert (contact.full_name, contact.sort_key, contact.email) == ("Ana Lima", "lima ana", "ana@x.test")
    etag = contact.etag
    fields = vcards.read_fields(vcards.parse_card(contact.vcard))
    fields.organisation = "Acme"
    services.contact_update(contact=contact, fields=fields)
    contact.refresh_from_db()
    assert contact.organisation == "Acme"
    assert contact.etag != etag
    services.contact_delete(contact=contact)
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_update_keeps_the_original_unknown_properties(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    services.book_import(book=book, data=CARD_30.encode())
    contact = Contact.objects.get(book=book)
    assert contact.vcard == CARD_30  # stored as received
    fields = vcards.read_fields(vcards.parse_card(contact.vcard))
    fields.note = "Changed"
    services.contact_update(contact=contact, fields=fields)
    contact.refresh_from_db()
    assert "X-CUSTOM-THING;X-PARAM=keep:secret value" in contact.vcard
    assert "NOTE:Changed" in contact.vcard


def test_import_of_2000_cards_keeps_good_ones_and_reports_bad_ones_by_number(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    cards = [_card(n) for n in range(2000)]
    cards[9] = "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:no name\r\nEND:VCARD\r\n"
    cards[1499] = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:old\r\nEND:VCARD\r\n"
    result = services.book_import(book=book, data="".join(cards).encode())
    assert result.created == 1998
    assert [number for number, _reason in result.errors] == [10, 1500]
    assert "no name" in result.errors[0][1]
    assert Contact.objects.filter(book=book).count() == 1998
    # The same file again replaces by UID: no duplicates.
    again = services.book_import(book=book, data="".join(cards).encode())
    assert (again.created, again.updated) == (0, 1998)
    assert Contact.objects.filter(book=book).count() == 1998


def test_import_without_uid_adds_one_and_export_returns_the_stored_texts(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    no_uid = "BEGIN:VCARD\nVERSION:4.0\nFN:Zoe Ng\nEND:VCARD\n"
    result = services.book_import(book=book, data=(no_uid + CARD_40).encode())
    assert (result.created, result.errors) == (2, [])
    zoe = Contact.objects.get(book=book, full_name="Zoe Ng")
    assert zoe.uid.startswith("urn:uuid:")
    assert f"UID:{zoe.uid}" in zoe.vcard
    exported = services.book_export(book=book)
    assert exported.count("BEGIN:VCARD") == 2
    assert CARD_40 in exported
    round_trip = services.book_import(book=book, data=exported.encode())
    assert (round_trip.created, round_trip.updated) == (0, 2)


def test_import_of_a_file_without_cards_says_so(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    result = services.book_import(book=book, data=b"\x00\xff not a card")
    assert result.created == 0
    assert result.errors[0][0] == 0
    assert "no vCard" in result.errors[0][1]


def test_search_has_a_trigram_index_on_postgresql(owner: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the trigram index exists on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'contacts_search_trgm'")
        row = cursor.fetchone()
    assert row is not None
    assert "gin_trgm_ops" in row[0]


def test_import_skips_a_card_with_a_huge_photo_and_keeps_the_others(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    huge = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Big\r\nPHOTO;ENCODING=b:{'A' * vcards.MAX_CARD_CHARS}\r\nEND:VCARD\r\n"
    result = services.book_import(book=book, data=(_card(1) + huge + _card(2)).encode())
    assert result.created == 2
    assert result.errors[0][0] == 2
    assert "larger than" in result.errors[0][1]


def test_list_is_sorted_by_last_name_then_first_name(owner: Any) -> None:
    from apps.contacts import selectors

    book = services.book_ensure_personal(user=owner)
    for given, family in (("Zoe", "Abel"), ("Ana", "Lima"), ("Bob", "Abel")):
        services.contact_create(book=book, fields=vcards.CardFields(given=given, family=family))
    services.contact_create(book=book, fields=vcards.CardFields(organisation="Acme"))
    names = [c.full_name for c in selectors.contact_list(book=book)]
    assert names == ["Bob Abel", "Zoe Abel", "Acme", "Ana Lima"]
    assert [c.full_name for c in selectors.contact_list(book=book, query="abel zo")] == ["Zoe Abel"]
