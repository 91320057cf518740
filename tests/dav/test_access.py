"""Who reaches what: the outsider is refused everywhere; a share grants exactly its level."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from apps.contacts import services
from apps.contacts.models import AddressBook, Contact
from apps.core.sharing import ShareLevel, share_grant
from tests.dav.conftest import Dav, book_url, card, propfind_body

pytestmark = pytest.mark.django_db

MULTIGET = (
    '<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
    "<d:prop><d:getetag/></d:prop><d:href>{url}a.vcf</d:href></card:addressbook-multiget>"
)
QUERY = (
    '<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">'
    "<d:prop><d:getetag/></d:prop></card:addressbook-query>"
)
SYNC = '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:prop><d:getetag/></d:prop></d:sync-collection>'
PROPPATCH = (
    '<d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>Pwned</d:displayname>'
    "</d:prop></d:set></d:propertyupdate>"
)


@pytest.fixture
def team(owner: Any, owner_dav: Dav) -> AddressBook:
    book = services.book_create(owner=owner, name="Team", dav_name="team")
    assert owner_dav.put(book_url(owner, "team") + "a.vcf", card("a")).status_code == 201
    return book


def _requests(owner: Any, book: AddressBook) -> list[tuple[str, str, str, dict[str, str]]]:
    url = book_url(owner, "team")
    home = "/dav/addressbooks/olivia/"
    return [
        ("PROPFIND", "/dav/principals/olivia/", propfind_body("d:displayname"), {"Depth": "0"}),
        ("PROPFIND", home, propfind_body("d:displayname"), {"Depth": "1"}),
        ("PROPFIND", url, propfind_body("d:displayname"), {"Depth": "1"}),
        ("PROPFIND", url + "a.vcf", propfind_body("d:getetag"), {"Depth": "0"}),
        ("OPTIONS", url, "", {}),
        ("GET", url + "a.vcf", "", {}),
        ("HEAD", url + "a.vcf", "", {}),
        ("GET", url, "", {}),
        ("PUT", url + "a.vcf", card("a", name="Pwned"), {}),
        ("PUT", url + "new.vcf", card("new"), {}),
        ("DELETE", url + "a.vcf", "", {}),
        ("DELETE", url, "", {}),
        ("PROPPATCH", url, PROPPATCH, {}),
        ("MKCOL", home + "mine/", "", {}),
        ("COPY", url + "a.vcf", "", {"Destination": "/dav/addressbooks/oscar/contacts/stolen.vcf"}),
        ("MOVE", url + "a.vcf", "", {"Destination": "/dav/addressbooks/oscar/contacts/stolen.vcf"}),
        ("REPORT", url, MULTIGET.format(url=url), {"Depth": "1"}),
        ("REPORT", url, QUERY, {"Depth": "1"}),
        ("REPORT", url, SYNC, {}),
        # The same book through a shared alias the outsider does not hold.
        ("PROPFIND", f"/dav/addressbooks/oscar/shared-{book.pk}/", propfind_body("d:displayname"), {"Depth": "0"}),
        ("REPORT", f"/dav/addressbooks/oscar/shared-{book.pk}/", SYNC, {}),
        ("GET", f"/dav/addressbooks/oscar/shared-{book.pk}/a.vcf", "", {}),
        ("PUT", f"/dav/addressbooks/oscar/shared-{book.pk}/z.vcf", card("z"), {}),
    ]


@pytest.mark.parametrize("index", range(23))
def test_outsider_is_refused_on_every_url_and_method(
    index: int, owner: Any, team: AddressBook, outsider_dav: Dav
) -> None:
    method, path, body, headers = _requests(owner, team)[index]
    content_type = "text/vcard" if method == "PUT" else "application/xml"
    response = outsider_dav(method, path, body, content_type=content_type, **headers)
    assert response.status_code in (403, 404), (method, path, response.status_code)
    assert b"Pwned" not in response.content
    assert b"UID:a" not in response.content
    contact = Contact.objects.get(book=team, href="a.vcf")
    assert contact.full_name == "Ana Lima"
    assert AddressBook.objects.get(pk=team.pk).name == "Team"
    assert not Contact.objects.filter(href__in=["new.vcf", "stolen.vcf", "z.vcf"]).exists()


def _share(owner: Any, book: AddressBook, colleague: Any, level: ShareLevel) -> str:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=level, grantee_user=colleague)
    return f"/dav/addressbooks/colin/shared-{book.pk}/"


def test_read_share_can_read_only(owner: Any, team: AddressBook, colleague: Any, colleague_dav: Dav) -> None:
    url = _share(owner, team, colleague, ShareLevel.READ)
    assert colleague_dav("GET", url + "a.vcf").status_code == 200
    assert colleague_dav("PROPFIND", url, propfind_body("d:displayname"), Depth="1").status_code == 207
    assert colleague_dav("REPORT", url, QUERY, Depth="1").status_code == 207
    assert colleague_dav("REPORT", url, SYNC).status_code == 207
    privileges = colleague_dav("PROPFIND", url, propfind_body("d:current-user-privilege-set"), Depth="0").content
    assert b"<d:read/>" in privileges
    assert b"write-content" not in privileges
    acl = colleague_dav("PROPFIND", url, propfind_body("d:acl"), Depth="0").content
    assert b"403 Forbidden" in acl  # only managers read the ACL
    assert colleague_dav.put(url + "a.vcf", card("a", name="Pwned")).status_code == 403
    assert colleague_dav.put(url + "new.vcf", card("new")).status_code == 403
    assert colleague_dav("DELETE", url + "a.vcf").status_code == 403
    assert colleague_dav("PROPPATCH", url, PROPPATCH).status_code == 207
    assert AddressBook.objects.get(pk=team.pk).name == "Team"
    assert colleague_dav("MOVE", url + "a.vcf", Destination="/dav/addressbooks/colin/contacts/a.vcf").status_code == 403
    # Copying out of a readable book into one's own is allowed.
    assert colleague_dav("COPY", url + "a.vcf", Destination="/dav/addressbooks/colin/contacts/a.vcf").status_code == 201
    assert Contact.objects.get(book=team, href="a.vcf").full_name == "Ana Lima"
    _deleting_leaves_the_share(colleague_dav, url, team)


def test_write_share_can_change_cards_not_the_book(
    owner: Any, team: AddressBook, colleague: Any, colleague_dav: Dav
) -> None:
    url = _share(owner, team, colleague, ShareLevel.WRITE)
    privileges = colleague_dav("PROPFIND", url, propfind_body("d:current-user-privilege-set"), Depth="0").content
    assert b"write-content" in privileges
    assert b"<d:all/>" not in privileges
    assert colleague_dav.put(url + "a.vcf", card("a", name="Ana Changed")).status_code == 204
    assert colleague_dav.put(url + "new.vcf", card("new")).status_code == 201
    assert colleague_dav("DELETE", url + "new.vcf").status_code == 204
    assert colleague_dav("PROPPATCH", url, PROPPATCH).status_code == 207
    assert AddressBook.objects.get(pk=team.pk).name == "Team"
    assert Contact.objects.get(book=team, href="a.vcf").full_name == "Ana Changed"
    _deleting_leaves_the_share(colleague_dav, url, team)


def _deleting_leaves_the_share(colleague_dav: Dav, url: str, team: AddressBook) -> None:
    """A grantee's DELETE of a shared book drops their share; the owner's book and cards stay."""
    cards = Contact.objects.filter(book=team).count()
    assert colleague_dav("DELETE", url).status_code == 204
    assert Contact.objects.filter(book=team).count() == cards
    assert colleague_dav("PROPFIND", url, Depth="0").status_code == 404


def test_manage_share_can_rename_the_book_but_deleting_only_leaves(
    owner: Any, team: AddressBook, colleague: Any, colleague_dav: Dav
) -> None:
    url = _share(owner, team, colleague, ShareLevel.MANAGE)
    acl = colleague_dav("PROPFIND", url, propfind_body("d:acl"), Depth="0").content
    assert b"/dav/principals/colin/" in acl
    assert b"/dav/principals/olivia/" in acl
    response = colleague_dav("PROPPATCH", url, PROPPATCH)
    assert response.status_code == 207
    assert b"200 OK" in response.content
    assert AddressBook.objects.get(pk=team.pk).name == "Pwned"
    _deleting_leaves_the_share(colleague_dav, url, team)
    assert AddressBook.objects.filter(pk=team.pk).exists()


def test_a_book_shared_through_a_group_cannot_be_left_by_delete(
    owner: Any, team: AddressBook, colleague: Any, colleague_dav: Dav
) -> None:
    group = Group.objects.create(name="Staff")
    colleague.groups.add(group)
    share_grant(actor=owner, collection=team, owner_id=owner.pk, level=ShareLevel.MANAGE, grantee_group=group)
    url = f"/dav/addressbooks/colin/shared-{team.pk}/"
    assert colleague_dav("DELETE", url).status_code == 403
    assert colleague_dav("PROPFIND", url, Depth="0").status_code == 207
    assert AddressBook.objects.filter(pk=team.pk).exists()


def test_own_book_is_not_reachable_through_an_alias(owner: Any, team: AddressBook, owner_dav: Dav) -> None:
    response = owner_dav("PROPFIND", f"/dav/addressbooks/olivia/shared-{team.pk}/", Depth="0")
    assert response.status_code == 404


def test_copy_into_someone_elses_book_is_refused(owner: Any, team: AddressBook, outsider_dav: Dav) -> None:
    outsider_dav.put("/dav/addressbooks/oscar/contacts/mine.vcf", card("mine"))
    response = outsider_dav(
        "COPY", "/dav/addressbooks/oscar/contacts/mine.vcf", Destination=book_url(owner, "team") + "mine.vcf"
    )
    assert response.status_code == 404
    assert not Contact.objects.filter(book=team, href="mine.vcf").exists()
