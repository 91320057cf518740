"""RFC 4918 / 5689 / 6352 methods on cards and books."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from apps.contacts import services, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.models import Change
from tests.dav.conftest import Dav, book_url, card, propfind_body

pytestmark = pytest.mark.django_db
NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav"}

MKCOL_BOOK = """<?xml version="1.0" encoding="utf-8"?>
<d:mkcol xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
  <d:set><d:prop>
    <d:resourcetype><d:collection/><card:addressbook/></d:resourcetype>
    <d:displayname>Équipe</d:displayname>
    <card:addressbook-description>The team &amp; friends</card:addressbook-description>
  </d:prop></d:set>
</d:mkcol>"""


def test_put_creates_then_updates_and_keeps_the_text_exactly(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner) + "ana.vcf"
    text = card("uid-ana")
    created = owner_dav.put(url, text)
    assert created.status_code == 201
    etag = created["ETag"]
    contact = Contact.objects.get(href="ana.vcf")
    assert contact.vcard == text
    assert etag == f'"{contact.etag}"'
    assert Change.objects.filter(collection_id=contact.book_id, name="ana.vcf").exists()

    got = owner_dav("GET", url)
    assert got.status_code == 200
    assert got.content.decode() == text
    assert got["Content-Type"] == "text/vcard; charset=utf-8"
    assert got["ETag"] == etag
    head = owner_dav("HEAD", url)
    assert head.status_code == 200
    assert head.content == b""
    assert head["ETag"] == etag
    assert head["Content-Length"] == str(len(text.encode()))
    assert owner_dav("GET", url, **{"If-None-Match": etag}).status_code == 304

    updated = owner_dav.put(url, card("uid-ana", name="Ana Souza"), **{"If-Match": etag})
    assert updated.status_code == 204
    assert updated["ETag"] != etag
    assert Contact.objects.get(href="ana.vcf").full_name == "Ana Souza"


def test_if_match_and_if_none_match(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner) + "ana.vcf"
    assert owner_dav.put(url, card("uid-ana"), **{"If-Match": "*"}).status_code == 412
    assert owner_dav.put(url, card("uid-ana"), **{"If-Match": '"nope"'}).status_code == 412
    etag = owner_dav.put(url, card("uid-ana"), **{"If-None-Match": "*"})["ETag"]
    assert owner_dav.put(url, card("uid-ana"), **{"If-None-Match": "*"}).status_code == 412
    assert owner_dav.put(url, card("uid-ana", name="Ana B"), **{"If-Match": '"stale"'}).status_code == 412
    assert owner_dav.put(url, card("uid-ana", name="Ana B"), **{"If-None-Match": etag}).status_code == 412
    assert Contact.objects.get(href="ana.vcf").full_name == "Ana Lima"  # nothing was written
    assert owner_dav("DELETE", url, **{"If-Match": '"stale"'}).status_code == 412
    assert owner_dav("DELETE", url, **{"If-Match": etag}).status_code == 204
    assert owner_dav("GET", url).status_code == 404
    assert owner_dav("DELETE", url).status_code == 404


def test_put_without_uid_gets_one_and_no_etag(owner_dav: Dav, owner: Any) -> None:
    text = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No Uid\r\nEND:VCARD\r\n"
    response = owner_dav.put(book_url(owner) + "nouid.vcf", text)
    assert response.status_code == 201
    assert not response.has_header("ETag")  # the stored card differs from the one sent
    assert "UID:" in Contact.objects.get(href="nouid.vcf").vcard


def test_uid_conflict_answers_409_with_the_other_href(owner_dav: Dav, owner: Any) -> None:
    owner_dav.put(book_url(owner) + "a.vcf", card("same-uid"))
    response = owner_dav.put(book_url(owner) + "b.vcf", card("same-uid"))
    assert response.status_code == 409
    root = fromstring(response.content)
    assert root.findtext("card:no-uid-conflict/d:href", namespaces=NS) == book_url(owner) + "a.vcf"


def test_unknown_properties_survive_put_browser_edit_and_get(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner) + "ana.vcf"
    text = card("uid-ana").replace("END:VCARD", "IMPP;X-SERVICE-TYPE=Jabber:xmpp:ana@example.test\r\nEND:VCARD")
    assert owner_dav.put(url, text).status_code == 201
    contact = Contact.objects.get(href="ana.vcf")
    fields = vcards.read_fields(vcards.parse_card(contact.vcard))
    fields.organisation = "Acme"
    services.contact_update(contact=contact, fields=fields)
    got = owner_dav("GET", url).content.decode()
    assert "X-RUCHE-TEST;X-ODD=1:kept uid-ana" in got
    assert "IMPP;X-SERVICE-TYPE=Jabber:xmpp:ana@example.test" in got
    assert "ORG:Acme" in got


def test_extended_mkcol_creates_a_book(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner, "team")
    assert owner_dav("MKCOL", url, MKCOL_BOOK).status_code == 201
    book = AddressBook.objects.get(owner=owner, dav_name="team")
    assert (book.name, book.description) == ("Équipe", "The team & friends")
    assert owner_dav("MKCOL", url, MKCOL_BOOK).status_code == 405
    assert owner_dav("MKCOL", book_url(owner, "team") + "sub/", "").status_code == 403
    assert owner_dav("MKCOL", book_url(owner, "missing") + "a/b/", "").status_code == 409


def test_mkcol_of_another_resource_type_is_refused(owner_dav: Dav, owner: Any) -> None:
    body = MKCOL_BOOK.replace("<card:addressbook/>", '<c:calendar xmlns:c="urn:ietf:params:xml:ns:caldav"/>')
    response = owner_dav("MKCOL", book_url(owner, "cal"), body)
    assert response.status_code == 403
    root = fromstring(response.content)
    assert root.tag == "{DAV:}mkcol-response"
    assert "424" in "".join(root.itertext())
    assert not AddressBook.objects.filter(owner=owner, dav_name="cal").exists()


def test_plain_mkcol_creates_a_book_and_reserved_names_are_refused(owner_dav: Dav, owner: Any) -> None:
    assert owner_dav("MKCOL", book_url(owner, "plain"), "").status_code == 201
    assert AddressBook.objects.filter(owner=owner, dav_name="plain").exists()
    assert owner_dav("MKCOL", book_url(owner, "shared-1"), "").status_code in (403, 404)
    assert not AddressBook.objects.filter(dav_name="shared-1").exists()
    assert owner_dav("MKCOL", book_url(owner, "x"), "not xml", content_type="text/plain").status_code == 400


def test_proppatch_renames_and_refuses_other_properties(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    owner_dav("PROPFIND", url, propfind_body("d:displayname"), Depth="0")  # creates the personal book
    body = (
        '<d:propertyupdate xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:set><d:prop>'
        "<d:displayname>Mine</d:displayname><card:addressbook-description>Desc</card:addressbook-description>"
        "</d:prop></d:set></d:propertyupdate>"
    )
    response = owner_dav("PROPPATCH", url, body)
    assert response.status_code == 207
    assert "200 OK" in response.content.decode()
    book = AddressBook.objects.get(owner=owner, personal=True)
    assert (book.name, book.description) == ("Mine", "Desc")

    mixed = body.replace("<d:displayname>Mine</d:displayname>", '<x:color xmlns:x="urn:x">red</x:color>')
    response = owner_dav("PROPPATCH", url, mixed)
    text = response.content.decode()
    assert response.status_code == 207
    assert "403 Forbidden" in text
    assert "424 Failed Dependency" in text
    book.refresh_from_db()
    assert book.description == "Desc"  # all or nothing


def test_delete_book(owner_dav: Dav, owner: Any) -> None:
    owner_dav("MKCOL", book_url(owner, "old"), MKCOL_BOOK)
    owner_dav.put(book_url(owner, "old") + "a.vcf", card("a"))
    assert owner_dav("DELETE", book_url(owner, "old")).status_code == 204
    assert not AddressBook.objects.filter(dav_name="old").exists()
    assert owner_dav("DELETE", book_url(owner, "old")).status_code == 404
    assert owner_dav("DELETE", "/dav/addressbooks/olivia/").status_code == 403


def test_copy_and_move_between_books(owner_dav: Dav, owner: Any) -> None:
    owner_dav("MKCOL", book_url(owner, "team"), MKCOL_BOOK)
    source = book_url(owner) + "ana.vcf"
    owner_dav.put(source, card("uid-ana"))
    target = "http://testserver" + book_url(owner, "team") + "ana.vcf"
    assert owner_dav("COPY", source, Destination=target).status_code == 201
    assert owner_dav("COPY", source, Destination=target, Overwrite="F").status_code == 412
    assert owner_dav("COPY", source, Destination=target).status_code == 204
    assert Contact.objects.filter(uid="uid-ana").count() == 2
    # Same UID already in the team book under another name: no duplicate UID per book.
    clash = book_url(owner, "team") + "other.vcf"
    assert owner_dav("COPY", source, Destination=clash).status_code == 409

    moved = book_url(owner) + "renamed.vcf"
    assert owner_dav("MOVE", source, Destination=moved).status_code == 201
    assert owner_dav("GET", source).status_code == 404
    assert owner_dav("GET", moved).status_code == 200
    assert owner_dav("MOVE", moved, Destination="http://elsewhere.example/dav/x.vcf").status_code == 502
    assert owner_dav("MOVE", moved, Destination=book_url(owner, "nobook") + "x.vcf").status_code == 409
    assert owner_dav("MOVE", moved, Destination=moved).status_code == 403
    assert owner_dav("MOVE", moved).status_code == 400


def test_propfind_on_a_card_and_depth_one_on_a_book(owner_dav: Dav, owner: Any) -> None:
    for n in range(3):
        owner_dav.put(book_url(owner) + f"c{n}.vcf", card(f"u{n}", name=f"Person {n}"))
    body = propfind_body("d:getetag", "d:getcontenttype", "d:getlastmodified", "d:resourcetype")
    root = fromstring(owner_dav("PROPFIND", book_url(owner), body, Depth="1").content)
    hrefs = [h.text for h in root.iterfind("d:response/d:href", NS)]
    assert hrefs == [book_url(owner)] + [book_url(owner) + f"c{n}.vcf" for n in range(3)]
    etags = [e.text for e in root.iterfind(".//d:propstat/d:prop/d:getetag", NS) if e.text]
    assert etags == [f'"{c.etag}"' for c in Contact.objects.order_by("pk")]
    one = owner_dav("PROPFIND", book_url(owner) + "c1.vcf", propfind_body("card:address-data"), Depth="0")
    assert "FN:Person 1" in fromstring(one.content).findtext(".//card:address-data", namespaces=NS)
    missing = owner_dav("PROPFIND", book_url(owner) + "none.vcf", propfind_body("d:getetag"), Depth="0")
    assert missing.status_code == 404


def test_get_a_book_exports_it_and_unknown_methods_are_405(owner_dav: Dav, owner: Any) -> None:
    owner_dav.put(book_url(owner) + "a.vcf", card("a"))
    assert "UID:a" in owner_dav("GET", book_url(owner)).content.decode()
    response = owner_dav("LOCK", book_url(owner))
    assert response.status_code == 405
    assert "PROPFIND" in response["Allow"]
    assert owner_dav("PUT", book_url(owner), card("x"), content_type="text/vcard").status_code == 405


def test_import_of_a_card_whose_href_a_client_already_uses(owner_dav: Dav, owner: Any) -> None:
    # A DAV client stored UID "other" under "x.vcf"; an imported card with UID "x" would be named "x.vcf" too.
    owner_dav.put(book_url(owner) + "x.vcf", card("other"))
    book = AddressBook.objects.get(owner=owner, personal=True)
    result = services.book_import(book=book, data=card("x", name="Imported Person").encode())
    assert (result.created, result.errors) == (1, [])
    imported = Contact.objects.get(book=book, uid="x")
    assert imported.href != "x.vcf"
    assert imported.href.endswith(".vcf")
    assert Contact.objects.get(book=book, href="x.vcf").uid == "other"
    assert owner_dav("GET", book_url(owner) + imported.href).status_code == 200


def test_depth_one_propfind_reads_cards_in_one_query(owner_dav: Dav, owner: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    body = propfind_body("d:getetag", "d:getcontenttype")
    counts = []
    for total in (2, 20):
        while Contact.objects.count() < total:
            n = Contact.objects.count()
            owner_dav.put(book_url(owner) + f"q{n}.vcf", card(f"q{n}"))
        with CaptureQueriesContext(connection) as queries:
            response = owner_dav("PROPFIND", book_url(owner), body, Depth="1")
        assert response.content.count(b"<d:getetag>") == total
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_personal_book_cannot_be_deleted(owner_dav: Dav, owner: Any) -> None:
    owner_dav.put(book_url(owner, "contacts") + "a.vcf", card("a"))
    assert owner_dav("DELETE", book_url(owner, "contacts")).status_code == 403
    assert AddressBook.objects.filter(owner=owner, personal=True).get().contacts.count() == 1
