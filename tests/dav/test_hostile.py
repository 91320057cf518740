"""Hostile input: XML bombs and entities, oversized bodies, malformed cards, odd bytes. Never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from apps.contacts.models import AddressBook, Contact
from tests.dav.conftest import Dav, book_url, card, propfind_body

pytestmark = pytest.mark.django_db

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&lol4;</d:displayname></d:prop></d:propfind>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>&xxe;</d:displayname></d:prop></d:set>
</d:propertyupdate>"""


@pytest.mark.parametrize("method", ["PROPFIND", "PROPPATCH", "REPORT", "MKCOL"])
@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "external-entity"])
def test_entities_are_refused_with_400(owner_dav: Dav, owner: Any, method: str, body: str) -> None:
    url = book_url(owner, "bomb") if method == "MKCOL" else book_url(owner)
    owner_dav("PROPFIND", book_url(owner), propfind_body("d:displayname"), Depth="0")
    response = owner_dav(method, url, body, Depth="0")
    assert response.status_code == 400
    assert b"root:" not in response.content
    assert not AddressBook.objects.filter(name__contains="root:").exists()
    assert not AddressBook.objects.filter(dav_name="bomb").exists()


@pytest.mark.parametrize(
    "body",
    [
        "<d:propfind xmlns:d='DAV:'><d:prop>",
        "not xml at all",
        "<d:propfind xmlns:d='DAV:'><d:prop><d:x>&#0;</d:x></d:prop></d:propfind>",
        "\xff\xfe<x/>",
        "<d:sync-collection xmlns:d='DAV:'/>",
    ],
)
def test_malformed_xml_is_400(owner_dav: Dav, owner: Any, body: str) -> None:
    for method in ("PROPFIND", "PROPPATCH", "REPORT"):
        response = owner_dav(method, book_url(owner), body.encode("latin-1"), Depth="0")
        assert response.status_code in (400, 403), (method, body, response.status_code)


def test_wrong_root_elements_are_refused(owner_dav: Dav, owner: Any) -> None:
    assert owner_dav("PROPFIND", book_url(owner), "<x xmlns='urn:x'/>", Depth="0").status_code == 400
    assert owner_dav("PROPPATCH", book_url(owner), "<x xmlns='urn:x'/>").status_code == 400
    assert owner_dav("REPORT", book_url(owner), "<x xmlns='urn:x'/>").status_code == 403
    assert owner_dav("REPORT", book_url(owner), "").status_code == 400


@override_settings(RUCHE_DAV_MAX_BODY_BYTES=4096)
def test_body_over_the_cap_is_413(owner_dav: Dav, owner: Any) -> None:
    padding = "<d:displayname/>" * 1000
    big = f"<d:propfind xmlns:d='DAV:'><d:prop>{padding}</d:prop></d:propfind>"
    assert owner_dav("PROPFIND", book_url(owner), big, Depth="0").status_code == 413
    huge_card = card("big").replace("END:VCARD", "NOTE:" + "x" * 8000 + "\r\nEND:VCARD")
    assert owner_dav.put(book_url(owner) + "big.vcf", huge_card).status_code == 413
    assert not Contact.objects.filter(href="big.vcf").exists()


@override_settings(RUCHE_DAV_MAX_CARD_BYTES=2048)
def test_card_over_max_resource_size_is_403_precondition(owner_dav: Dav, owner: Any) -> None:
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + "A" * 4000
    response = owner_dav.put(book_url(owner) + "photo.vcf", card("photo").replace("END:VCARD", photo + "\r\nEND:VCARD"))
    assert response.status_code == 403
    assert b"max-resource-size" in response.content
    assert not Contact.objects.filter(href="photo.vcf").exists()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello", b"BEGIN:VCARD"),
        ("BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\n", b"3.0 and 4.0"),
        ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nEND:VCARD\r\n", b"no name"),
        ("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nN:;;\r\nBEGIN:VCARD\r\n", b"valid-address-data"),
        ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", b"valid-address-data"),
        (card("a") + card("b"), b"one vCard"),
        (card("nul").replace("FN:Ana", "FN:A\x00na"), b"NUL"),
    ],
)
def test_malformed_vcards_are_400_with_a_reason(owner_dav: Dav, owner: Any, text: str, reason: bytes) -> None:
    response = owner_dav.put(book_url(owner) + "bad.vcf", text)
    assert response.status_code == 400
    assert b"valid-address-data" in response.content
    assert reason in response.content
    assert not Contact.objects.filter(href="bad.vcf").exists()


def test_card_with_odd_unknown_properties_is_stored_untouched(owner_dav: Dav, owner: Any) -> None:
    odd = card("odd").replace("END:VCARD", 'X-WEIRD;X-P="a:b;c";X-Q=1,2:value;with;semicolons\r\nX-EMPTY:\r\nEND:VCARD')
    response = owner_dav.put(book_url(owner) + "odd.vcf", odd)
    assert response.status_code == 201
    assert owner_dav("GET", book_url(owner) + "odd.vcf").content.decode() == odd


@pytest.mark.parametrize("content_type", ["application/json", "text/html", "image/jpeg", "text/calendar"])
def test_non_vcard_content_type_is_415(owner_dav: Dav, owner: Any, content_type: str) -> None:
    response = owner_dav("PUT", book_url(owner) + "x.vcf", card("x"), content_type=content_type)
    assert response.status_code == 415
    assert not Contact.objects.filter(href="x.vcf").exists()


def test_bad_charset_is_400(owner_dav: Dav, owner: Any) -> None:
    body = card("latin").replace("Ana Lima", "Ana Lìma").encode("latin-1")
    assert owner_dav("PUT", book_url(owner) + "l.vcf", body, content_type="text/vcard").status_code == 400
    ok = owner_dav("PUT", book_url(owner) + "l.vcf", body, content_type="text/vcard; charset=iso-8859-1")
    assert ok.status_code == 201
    assert Contact.objects.get(href="l.vcf").full_name == "Ana Lìma"
    bogus = owner_dav("PUT", book_url(owner) + "m.vcf", body, content_type="text/vcard; charset=klingon")
    assert bogus.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/dav/addressbooks/olivia/contacts/%00.vcf",
        "/dav/addressbooks/olivia/%00/",
        "/dav/addressbooks/%00/",
        "/dav/principals/olivia%00/",
        "/dav/addressbooks/olivia/contacts/a/b/c/d.vcf",
        "/dav/addressbooks/olivia/shared-99999999999999999999999/",
        "/dav/addressbooks/olivia/shared-abc/",
        "/dav/nothing/here/",
    ],
)
def test_odd_paths_never_fail(owner_dav: Dav, path: str) -> None:
    for method in ("PROPFIND", "GET", "PUT", "DELETE", "MKCOL", "REPORT"):
        body = card("x") if method == "PUT" else ""
        content_type = "text/vcard" if method == "PUT" else "application/xml"
        response = owner_dav(method, path, body, content_type=content_type, Depth="0")
        assert response.status_code in (400, 403, 404, 405, 409), (method, path, response.status_code)


def test_odd_destinations_and_headers(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner) + "a.vcf"
    owner_dav.put(url, card("a"))
    for destination in ("/dav/addressbooks/olivia/contacts/%00.vcf", "http://[bad", "/etc/passwd", "::::"):
        response = owner_dav("COPY", url, Destination=destination)
        assert response.status_code in (400, 403, 404, 409, 502), (destination, response.status_code)
    assert owner_dav("COPY", url, Destination=book_url(owner) + "b.vcf", Overwrite="maybe").status_code == 400
    assert owner_dav("PROPFIND", url, "", Depth="2").status_code == 400
    nul_query = (
        '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><card:filter>'
        '<card:prop-filter name="FN"><card:text-match match-type="bogus">x</card:text-match></card:prop-filter>'
        "</card:filter></card:addressbook-query>"
    )
    assert owner_dav("REPORT", book_url(owner), nul_query).status_code == 403
    limit = (
        '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        "<card:limit><card:nresults>-3</card:nresults></card:limit></card:addressbook-query>"
    )
    assert owner_dav("REPORT", book_url(owner), limit).status_code == 400


def test_nul_in_credentials_is_a_plain_401(owner: Any) -> None:
    assert Dav(owner, "pass\x00word")("PROPFIND", "/dav/", Depth="0").status_code == 401
    from apps.accounts.models import User

    ghost = User(username="gh\x00st")
    assert Dav(ghost, "x")("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_too_many_properties_or_filters_are_refused(owner_dav: Dav, owner: Any) -> None:
    owner_dav.put(book_url(owner) + "a.vcf", card("a"))
    many = "".join(f"<x:p{n}/>" for n in range(500))
    body = f"<d:propfind xmlns:d='DAV:' xmlns:x='urn:x'><d:prop>{many}</d:prop></d:propfind>"
    assert owner_dav("PROPFIND", book_url(owner), body, Depth="1").status_code == 400
    filters = "".join('<card:prop-filter name="FN"><card:text-match>a</card:text-match></card:prop-filter>' * 200)
    query = (
        '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f"<d:prop><d:getetag/></d:prop><card:filter>{filters}</card:filter></card:addressbook-query>"
    )
    response = owner_dav("REPORT", book_url(owner), query)
    assert response.status_code == 403
    assert b"supported-filter" in response.content


def test_multiget_of_many_hrefs_is_batched(owner_dav: Dav, owner: Any) -> None:
    owner_dav.put(book_url(owner) + "a.vcf", card("a"))
    hrefs = "".join(f"<d:href>{book_url(owner)}n{n}.vcf</d:href>" for n in range(1200))
    body = (
        '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f"<d:prop><d:getetag/></d:prop><d:href>{book_url(owner)}a.vcf</d:href>{hrefs}</card:addressbook-multiget>"
    )
    response = owner_dav("REPORT", book_url(owner), body)
    assert response.status_code == 207
    assert response.content.count(b"404 Not Found") == 1200
    assert response.content.count(b"<d:getetag>") == 1


def test_deeply_nested_xml_is_refused(owner_dav: Dav, owner: Any) -> None:
    owner_dav("PROPFIND", book_url(owner), propfind_body("d:displayname"), Depth="0")
    deep = "<x>" * 50_000 + "</x>" * 50_000
    body = (
        f"<d:propertyupdate xmlns:d='DAV:'><d:set><d:prop><d:displayname>{deep}</d:displayname>"
        "</d:prop></d:set></d:propertyupdate>"
    )
    response = owner_dav("PROPPATCH", book_url(owner), body)
    assert response.status_code in (207, 400)
    assert AddressBook.objects.get(owner=owner, personal=True).name == "Contacts"
