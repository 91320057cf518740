"""RFC 6578 sync-collection on an address book, backed by the change log."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.contacts import services
from apps.contacts.models import AddressBook
from tests.dav.conftest import Dav, book_url, card

pytestmark = pytest.mark.django_db
NS = {"d": "DAV:", "card": "urn:ietf:params:xml:ns:carddav"}


def sync(dav: Dav, url: str, token: str = "", limit: int | None = None, prop: str = "<d:getetag/>") -> Any:
    limit_xml = f"<d:limit><d:nresults>{limit}</d:nresults></d:limit>" if limit else ""
    body = (
        '<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
        f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>{limit_xml}"
        f"<d:prop>{prop}</d:prop></d:sync-collection>"
    )
    return dav("REPORT", url, body)


def parsed(response: Any) -> tuple[dict[str, str], str]:
    """({card name: "ok" | status line}, new token)."""
    assert response.status_code == 207, response.content
    root = fromstring(response.content)
    result = {}
    for r in root.iterfind("d:response", NS):
        href = r.findtext("d:href", namespaces=NS) or ""
        name = href.rstrip("/").rsplit("/", 1)[1]
        result[name] = "ok" if r.find("d:propstat", NS) is not None else (r.findtext("d:status", namespaces=NS) or "")
    return result, root.findtext("d:sync-token", namespaces=NS) or ""


def test_initial_sync_then_changes_and_deletes(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    for name in ("a", "b", "c"):
        owner_dav.put(f"{url}{name}.vcf", card(name))
    owner_dav.put(f"{url}gone.vcf", card("gone"))
    owner_dav("DELETE", f"{url}gone.vcf")
    first, token = parsed(sync(owner_dav, url))
    assert first == {"a.vcf": "ok", "b.vcf": "ok", "c.vcf": "ok"}  # removed members are not listed initially

    nothing, same = parsed(sync(owner_dav, url, token))
    assert nothing == {}
    assert same == token

    owner_dav.put(f"{url}b.vcf", card("b", name="Bea Changed"))
    owner_dav("DELETE", f"{url}c.vcf")
    owner_dav.put(f"{url}d.vcf", card("d"))
    changes, newer = parsed(sync(owner_dav, url, token))
    assert changes == {"b.vcf": "ok", "c.vcf": "HTTP/1.1 404 Not Found", "d.vcf": "ok"}
    assert newer != token
    assert parsed(sync(owner_dav, url, newer))[0] == {}


def test_browser_edits_and_imports_appear_in_the_sync(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    owner_dav.put(f"{url}a.vcf", card("a"))
    _first, token = parsed(sync(owner_dav, url))
    book = AddressBook.objects.get(owner=owner, personal=True)
    services.book_import(book=book, data=card("imported").encode())
    changes, _token = parsed(sync(owner_dav, url, token))
    assert changes == {"imported.vcf": "ok"}


def test_paging_with_limit(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    _none, token = parsed(sync(owner_dav, url))
    for n in range(5):
        owner_dav.put(f"{url}p{n}.vcf", card(f"p{n}"))
    seen: list[str] = []
    pages = 0
    while True:
        response = sync(owner_dav, url, token, limit=2)
        page, token = parsed(response)
        pages += 1
        truncated = page.pop("contacts", None)
        seen += sorted(page)
        if truncated is None:
            break
        assert truncated == "HTTP/1.1 507 Insufficient Storage"
        assert len(page) == 2
        assert pages < 10
    assert seen == [f"p{n}.vcf" for n in range(5)]


def test_initial_sync_with_limit_pages_too(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    for n in range(3):
        owner_dav.put(f"{url}p{n}.vcf", card(f"p{n}"))
    page, token = parsed(sync(owner_dav, url, limit=2))
    assert page.pop("contacts") == "HTTP/1.1 507 Insufficient Storage"
    assert len(page) == 2
    rest, _token = parsed(sync(owner_dav, url, token, limit=2))
    assert set(rest) | set(page) == {"p0.vcf", "p1.vcf", "p2.vcf"}


@pytest.mark.parametrize(
    "token",
    ["garbage", "http://ruche.invalid/sync/999999-1", "http://ruche.invalid/sync/{book}-99999999", "urn:x"],
)
def test_invalid_or_foreign_token_is_403(owner_dav: Dav, owner: Any, token: str) -> None:
    url = book_url(owner)
    owner_dav.put(f"{url}a.vcf", card("a"))
    book = AddressBook.objects.get(owner=owner, personal=True)
    response = sync(owner_dav, url, token.format(book=book.pk))
    assert response.status_code == 403
    assert b"valid-sync-token" in response.content


def test_token_of_another_book_is_refused(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    owner_dav("MKCOL", book_url(owner, "other"), "")
    owner_dav.put(f"{book_url(owner, 'other')}x.vcf", card("x"))
    _page, other_token = parsed(sync(owner_dav, book_url(owner, "other")))
    assert sync(owner_dav, url, other_token).status_code == 403


def test_sync_cost_follows_changes_not_book_size(owner_dav: Dav, owner: Any) -> None:
    url = book_url(owner)
    owner_dav.put(f"{url}seed.vcf", card("seed"))
    book = AddressBook.objects.get(owner=owner, personal=True)
    big = "".join(card(f"bulk{n}", name=f"Bulk {n}") for n in range(300))
    services.book_import(book=book, data=big.encode())
    _page, token = parsed(sync(owner_dav, url))
    owner_dav.put(f"{url}seed.vcf", card("seed", name="Seed Two"))
    with CaptureQueriesContext(connection) as queries:
        changes, _new = parsed(sync(owner_dav, url, token))
    assert changes == {"seed.vcf": "ok"}
    # The card rows read are those of the changes only (no query without an href filter on contacts).
    contact_reads = [q["sql"] for q in queries if 'FROM "contacts_contact"' in q["sql"]]
    assert contact_reads
    assert all('"href" IN' in sql for sql in contact_reads)
