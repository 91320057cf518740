"""RFC 6352 reports: addressbook-query (every match type, collation, negation, tests, limits) and multiget."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from tests.dav.conftest import Dav, book_url, card

pytestmark = pytest.mark.django_db
NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav"}

PEOPLE = {
    "ana.vcf": ("ana", "Ana Lima", "ana@example.test"),
    "bruno.vcf": ("bruno", "Bruno Élan", "bruno@corp.test"),
    "carla.vcf": ("carla", "Carla Lima-Souza", "carla@example.test"),
}


@pytest.fixture
def people(owner_dav: Dav, owner: Any) -> str:
    for href, (uid, name, mail) in PEOPLE.items():
        assert owner_dav.put(book_url(owner) + href, card(uid, name=name, mail=mail)).status_code == 201
    # A card without EMAIL, with a typed TEL, for is-not-defined and param-filter.
    text = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:dan\r\nFN:Dan\r\nTEL;TYPE=cell:+33 6 00\r\nEND:VCARD\r\n"
    assert owner_dav.put(book_url(owner) + "dan.vcf", text).status_code == 201
    return book_url(owner)


def query(dav: Dav, url: str, filters: str, test: str = "anyof", extra: str = "", prop: str = "<d:getetag/>") -> Any:
    body = (
        '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f'<d:prop>{prop}</d:prop><card:filter test="{test}">{filters}</card:filter>{extra}</card:addressbook-query>'
    )
    return dav("REPORT", url, body, Depth="1")


def names(response: Any) -> set[str]:
    assert response.status_code == 207, response.content
    root = fromstring(response.content)
    return {
        (r.findtext("d:href", namespaces=NS) or "").rsplit("/", 1)[1]
        for r in root.iterfind("d:response", NS)
        if r.find("d:propstat", NS) is not None
    }


def fn_match(text: str, match_type: str = "contains", collation: str = "", negate: str = "no") -> str:
    coll = f' collation="{collation}"' if collation else ""
    return (
        f'<card:prop-filter name="FN"><card:text-match match-type="{match_type}"{coll} '
        f'negate-condition="{negate}">{text}</card:text-match></card:prop-filter>'
    )


@pytest.mark.parametrize(
    ("text", "match_type", "expected"),
    [
        ("lima", "contains", {"ana.vcf", "carla.vcf"}),
        ("ana lima", "equals", {"ana.vcf"}),
        ("carla", "starts-with", {"carla.vcf"}),
        ("souza", "ends-with", {"carla.vcf"}),
        ("nobody", "contains", set()),
    ],
)
def test_query_match_types(owner_dav: Dav, people: str, text: str, match_type: str, expected: set[str]) -> None:
    assert names(query(owner_dav, people, fn_match(text, match_type))) == expected


@pytest.mark.parametrize(
    ("text", "collation", "expected"),
    [
        ("élan", "i;unicode-casemap", {"bruno.vcf"}),
        ("ÉLAN", "i;unicode-casemap", {"bruno.vcf"}),
        ("élan", "i;ascii-casemap", set()),  # only ASCII letters fold: é is not É
        ("Élan", "i;ascii-casemap", {"bruno.vcf"}),
        ("LIMA", "i;octet", set()),
        ("Lima", "i;octet", {"ana.vcf", "carla.vcf"}),
    ],
)
def test_query_collations(owner_dav: Dav, people: str, text: str, collation: str, expected: set[str]) -> None:
    assert names(query(owner_dav, people, fn_match(text, collation=collation))) == expected


def test_unknown_collation_is_refused(owner_dav: Dav, people: str) -> None:
    response = query(owner_dav, people, fn_match("x", collation="i;klingon"))
    assert response.status_code == 403
    assert b"supported-collation" in response.content


def test_negate_condition(owner_dav: Dav, people: str) -> None:
    assert names(query(owner_dav, people, fn_match("lima", negate="yes"))) == {"bruno.vcf", "dan.vcf"}


def test_is_not_defined_and_param_filter(owner_dav: Dav, people: str) -> None:
    missing_mail = '<card:prop-filter name="EMAIL"><card:is-not-defined/></card:prop-filter>'
    assert names(query(owner_dav, people, missing_mail)) == {"dan.vcf"}
    cell = (
        '<card:prop-filter name="TEL"><card:param-filter name="TYPE">'
        '<card:text-match match-type="equals">CELL</card:text-match></card:param-filter></card:prop-filter>'
    )
    assert names(query(owner_dav, people, cell)) == {"dan.vcf"}


def test_anyof_and_allof(owner_dav: Dav, people: str) -> None:
    mail = '<card:prop-filter name="EMAIL"><card:text-match>example.test</card:text-match></card:prop-filter>'
    both = fn_match("lima") + mail
    assert names(query(owner_dav, people, both, test="allof")) == {"ana.vcf", "carla.vcf"}
    either = fn_match("bruno") + mail
    assert names(query(owner_dav, people, either, test="anyof")) == {"ana.vcf", "bruno.vcf", "carla.vcf"}
    assert names(query(owner_dav, people, fn_match("dan") + mail, test="allof")) == set()


def test_empty_filter_matches_every_card(owner_dav: Dav, people: str) -> None:
    assert len(names(query(owner_dav, people, ""))) == 4


def test_limit_truncates_with_507(owner_dav: Dav, people: str) -> None:
    response = query(owner_dav, people, "", extra="<card:limit><card:nresults>2</card:nresults></card:limit>")
    assert len(names(response)) == 2
    root = fromstring(response.content)
    statuses = [r.findtext("d:status", namespaces=NS) for r in root.iterfind("d:response", NS)]
    assert "HTTP/1.1 507 Insufficient Storage" in statuses
    assert root.find(".//d:error/d:number-of-matches-within-limits", NS) is not None


def test_query_returns_address_data(owner_dav: Dav, people: str) -> None:
    response = query(owner_dav, people, fn_match("bruno"), prop="<d:getetag/><card:address-data/>")
    data = fromstring(response.content).findtext(".//card:address-data", namespaces=NS)
    assert data is not None
    assert "FN:Bruno Élan" in data
    assert "X-RUCHE-TEST" in data


def test_multiget(owner_dav: Dav, people: str) -> None:
    body = (
        '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        "<d:prop><d:getetag/><card:address-data/></d:prop>"
        f"<d:href>{people}ana.vcf</d:href><d:href>http://testserver{people}bruno.vcf</d:href>"
        f"<d:href>{people}gone.vcf</d:href><d:href>/dav/addressbooks/oscar/contacts/x.vcf</d:href>"
        "</card:addressbook-multiget>"
    )
    response = owner_dav("REPORT", people, body, Depth="1")
    root = fromstring(response.content)
    by_href = {r.findtext("d:href", namespaces=NS): r for r in root.iterfind("d:response", NS)}
    assert "UID:ana" in (by_href[f"{people}ana.vcf"].findtext(".//card:address-data", namespaces=NS) or "")
    assert by_href[f"{people}bruno.vcf"].find(".//d:getetag", NS) is not None
    assert by_href[f"{people}gone.vcf"].findtext("d:status", namespaces=NS) == "HTTP/1.1 404 Not Found"
    assert (
        by_href["/dav/addressbooks/oscar/contacts/x.vcf"].findtext("d:status", namespaces=NS).endswith("404 Not Found")
    )


def test_unknown_report_is_refused(owner_dav: Dav, people: str) -> None:
    response = owner_dav("REPORT", people, '<d:expand-property xmlns:d="DAV:"/>')
    assert response.status_code == 403
    assert b"supported-report" in response.content
    assert owner_dav("REPORT", "/dav/", '<d:expand-property xmlns:d="DAV:"/>').status_code == 403
