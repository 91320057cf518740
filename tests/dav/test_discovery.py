"""Discovery: well-known → root → current-user-principal → home set → books (RFC 6764, 5397, 6352)."""

from __future__ import annotations

import base64
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from defusedxml.ElementTree import fromstring
from django.core.cache import cache
from django.test import Client

from apps.accounts.app_passwords import app_password_create, app_password_revoke
from apps.contacts import services
from tests.dav.conftest import Dav, book_url, propfind_body

pytestmark = pytest.mark.django_db
NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav", "cs": "http://calendarserver.org/ns/"}


def _xml(response: Any) -> Element:
    assert response.status_code == 207, response.content
    return fromstring(response.content)


@pytest.mark.parametrize("kind", ["carddav", "caldav", "carddav/", "caldav/"])
def test_well_known_redirects_to_the_dav_root(kind: str) -> None:
    response = Client().generic("PROPFIND", f"/.well-known/{kind}")
    assert response.status_code == 301
    assert response["Location"] == "/dav/"


def test_discovery_chain_reaches_the_personal_book(owner_dav: Dav, owner: Any) -> None:
    root = _xml(owner_dav("PROPFIND", "/dav/", propfind_body("d:current-user-principal"), Depth="0"))
    principal = root.findtext(".//d:current-user-principal/d:href", namespaces=NS)
    assert principal == "/dav/principals/olivia/"

    body = propfind_body("card:addressbook-home-set", "d:displayname", "d:principal-URL", "d:resourcetype")
    found = _xml(owner_dav("PROPFIND", principal, body, Depth="0"))
    home = found.findtext(".//card:addressbook-home-set/d:href", namespaces=NS)
    assert home == "/dav/addressbooks/olivia/"
    assert found.findtext(".//d:displayname", namespaces=NS) == "Olivia Owner"
    assert found.find(".//d:resourcetype/d:principal", NS) is not None

    body = propfind_body(
        "d:resourcetype", "d:displayname", "cs:getctag", "d:sync-token", "d:current-user-privilege-set"
    )
    listing = _xml(owner_dav("PROPFIND", home, body, Depth="1"))
    books = {
        r.findtext("d:href", namespaces=NS): r
        for r in listing.findall("d:response", NS)
        if r.find(".//d:resourcetype/card:addressbook", NS) is not None
    }
    assert list(books) == [book_url(owner)]
    contacts = books[book_url(owner)]
    assert contacts.findtext(".//d:displayname", namespaces=NS) == "Contacts"
    token = contacts.findtext(".//d:sync-token", namespaces=NS)
    assert token
    assert token == contacts.findtext(".//cs:getctag", namespaces=NS)
    assert token.startswith("http://ruche.invalid/sync/")
    assert contacts.find(".//d:current-user-privilege-set/d:privilege/d:all", NS) is not None


def test_book_properties_describe_carddav_support(owner_dav: Dav, owner: Any) -> None:
    body = propfind_body(
        "card:supported-address-data",
        "card:max-resource-size",
        "card:supported-collation-set",
        "d:supported-report-set",
        "d:owner",
        "d:acl",
        "d:unknown-thing",
    )
    root = _xml(owner_dav("PROPFIND", book_url(owner), body, Depth="0"))
    versions = {e.get("version") for e in root.iterfind(".//card:address-data-type", NS)}
    assert versions == {"3.0", "4.0"}
    assert int(root.findtext(".//card:max-resource-size", namespaces=NS) or 0) > 0
    collations = {e.text for e in root.iterfind(".//card:supported-collation", NS)}
    assert collations == {"i;unicode-casemap", "i;ascii-casemap", "i;octet"}
    reports = {child.tag for child in root.iterfind(".//d:supported-report/d:report/*", NS)}
    assert "{DAV:}sync-collection" in reports
    assert "{urn:ietf:params:xml:ns:carddav}addressbook-multiget" in reports
    assert root.findtext(".//d:owner/d:href", namespaces=NS) == "/dav/principals/olivia/"
    assert root.find(".//d:acl/d:ace", NS) is not None
    statuses = {
        ps.findtext("d:status", namespaces=NS): [c.tag for c in ps.find("d:prop", NS) or []]
        for ps in root.iterfind(".//d:propstat", NS)
    }
    assert statuses["HTTP/1.1 404 Not Found"] == ["{DAV:}unknown-thing"]


def test_allprop_and_propname(owner_dav: Dav, owner: Any) -> None:
    root = _xml(owner_dav("PROPFIND", book_url(owner), "", Depth="0"))
    assert root.find(".//d:resourcetype/card:addressbook", NS) is not None
    assert root.find(".//d:acl", NS) is None  # not part of allprop
    names = _xml(
        owner_dav("PROPFIND", book_url(owner), '<d:propfind xmlns:d="DAV:"><d:propname/></d:propfind>', Depth="0")
    )
    assert names.find(".//d:prop/d:sync-token", NS) is not None
    assert names.findtext(".//d:prop/d:sync-token", namespaces=NS) == ""  # names only, no value


def test_depth_infinity_is_refused(owner_dav: Dav) -> None:
    response = owner_dav("PROPFIND", "/dav/addressbooks/olivia/", propfind_body("d:displayname"), Depth="infinity")
    assert response.status_code == 403
    assert b"propfind-finite-depth" in response.content
    assert owner_dav("PROPFIND", "/dav/addressbooks/olivia/", propfind_body("d:displayname")).status_code == 403


def test_root_depth_one_lists_principals_and_homes(owner_dav: Dav) -> None:
    root = _xml(owner_dav("PROPFIND", "/dav/", propfind_body("d:resourcetype"), Depth="1"))
    hrefs = [h.text for h in root.iterfind("d:response/d:href", NS)]
    assert hrefs == ["/dav/", "/dav/principals/", "/dav/addressbooks/"]


def test_options_announces_dav_classes(owner_dav: Dav, owner: Any) -> None:
    response = owner_dav("OPTIONS", book_url(owner))
    assert response.status_code == 200
    assert "addressbook" in response["DAV"]
    assert "extended-mkcol" in response["DAV"]
    assert "REPORT" in response["Allow"]
    assert "PROPFIND" in response["Allow"]


def test_missing_or_wrong_credentials_get_a_basic_challenge(owner: Any) -> None:
    response = Client().generic("PROPFIND", "/dav/", headers={"Depth": "0"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Basic realm="Ruche", charset="UTF-8"'
    bad = Dav(owner, "wrong-password")
    assert bad("PROPFIND", "/dav/", Depth="0").status_code == 401
    garbage = Client().generic("PROPFIND", "/dav/", HTTP_AUTHORIZATION="Basic %%%notbase64")
    assert garbage.status_code == 401


def test_account_password_works_without_mfa(owner: Any, password: str) -> None:
    assert Dav(owner, password)("PROPFIND", "/dav/", Depth="0").status_code == 207


def test_revoked_app_password_stops_at_the_next_request(owner: Any) -> None:
    cache.clear()
    created = app_password_create(user=owner, name="laptop")
    dav = Dav(owner, created.secret)
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 207
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 207  # served from the credential cache
    app_password_revoke(app_password=created.app_password)
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_changed_password_stops_the_cached_one(owner: Any, password: str) -> None:
    cache.clear()
    dav = Dav(owner, password)
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 207
    owner.set_password("another long password 42")
    owner.save()
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_deactivated_user_is_refused_even_when_cached(owner_dav: Dav, owner: Any) -> None:
    assert owner_dav("PROPFIND", "/dav/", Depth="0").status_code == 207
    owner.is_active = False
    owner.save()
    assert owner_dav("PROPFIND", "/dav/", Depth="0").status_code == 401


def test_user_with_mfa_needs_an_app_password(owner: Any, password: str) -> None:
    from allauth.mfa.models import Authenticator

    cache.clear()
    dav = Dav(owner, password)
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 207
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    assert dav("PROPFIND", "/dav/", Depth="0").status_code == 401
    app = Dav(owner, app_password_create(user=owner, name="phone").secret)
    assert app("PROPFIND", "/dav/", Depth="0").status_code == 207


def test_shared_book_appears_as_an_alias_in_the_home(owner: Any, colleague_dav: Dav, colleague: Any) -> None:
    from apps.core.sharing import ShareLevel, share_grant

    book = services.book_create(owner=owner, name="Team")
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.READ, grantee_user=colleague)
    root = _xml(colleague_dav("PROPFIND", "/dav/addressbooks/colin/", propfind_body("d:displayname"), Depth="1"))
    hrefs = [h.text for h in root.iterfind("d:response/d:href", NS)]
    assert f"/dav/addressbooks/colin/shared-{book.pk}/" in hrefs
    assert "/dav/addressbooks/colin/contacts/" in hrefs


def test_username_with_at_sign_is_percent_encoded(db: None) -> None:
    from tests.factories import UserFactory

    user: Any = UserFactory(username="ana@corp")
    dav = Dav(user, app_password_create(user=user, name="x").secret)
    root = _xml(dav("PROPFIND", "/dav/", propfind_body("d:current-user-principal"), Depth="0"))
    principal = root.findtext(".//d:current-user-principal/d:href", namespaces=NS)
    assert principal == "/dav/principals/ana@corp/"
    assert dav("PROPFIND", "/dav/principals/ana%40corp/", propfind_body("d:displayname"), Depth="0").status_code == 207
    assert base64  # imported for Dav
