"""Real CardDAV clients against the live server: the caldav library and vdirsyncer.

The server side is apps/dav; these tests only speak HTTP to the live ASGI server, as a phone or a
desktop program would, and check the result in Ruche's own tables. Layout under test:
/.well-known/carddav -> /dav/ ; /dav/principals/<username>/ ; /dav/addressbooks/<username>/ (home;
books shared with the user appear as shared-<book id>) ; <home>/<dav_name>/<name>.vcf.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from apps.accounts.app_passwords import app_password_create
from apps.contacts import services
from apps.contacts.models import AddressBook, Contact
from apps.contacts.vcards import CardFields, Typed
from apps.core.sharing import ShareLevel, share_grant
from tests.conftest import LiveServer, missing_service
from tests.dav.clients import (
    CARD,
    CardDavClient,
    D,
    Vdirsyncer,
    card_property,
    new_uid,
    parse_multistatus,
    q,
    vcard,
)

REFUSED = (403, 404)  # another person's book does not exist for you: 404 preferred, 403 allowed


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def book(owner: Any) -> AddressBook:
    return services.book_ensure_personal(user=owner)


def app_password(user: Any) -> str:
    return app_password_create(user=user, name="caldav tests").secret


@pytest.fixture
def client_for(asgi_server: LiveServer) -> Iterator[Any]:
    """Opens a caldav-library client for a person (an app password unless one is given)."""
    opened: list[CardDavClient] = []

    def make(user: Any, password: str | None = None, path: str = "/.well-known/carddav") -> CardDavClient:
        client = CardDavClient(asgi_server.url + path, user.username, password or app_password(user))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def book_url(server: LiveServer, username: str, dav_name: str) -> str:
    return f"{server.url}/dav/addressbooks/{username}/{dav_name}/"


def path_of(url: str) -> str:
    return urlsplit(url).path


def contact_texts(book: AddressBook) -> dict[str, str]:
    return dict(Contact.objects.filter(book=book).values_list("href", "vcard"))


# ---------------------------------------------------------------- caldav: discovery
@pytest.mark.parametrize("start", ["/.well-known/carddav", "/dav/"])
def test_caldav_discovers_principal_home_and_personal_book(
    client_for: Any, owner: Any, book: AddressBook, start: str
) -> None:
    client = client_for(owner, path=start)

    # OPTIONS: the library's own check of the DAV compliance classes (RFC 6352 section 6.1).
    assert "addressbook" in (client.dav.check_dav_support() or "")
    assert path_of(client.principal_url()) == "/dav/principals/olivia/"
    home = client.home_set()
    assert path_of(home) == "/dav/addressbooks/olivia/"
    books = client.books(home)
    assert [path_of(b.url) for b in books] == ["/dav/addressbooks/olivia/contacts/"]
    assert books[0].displayname == book.name


def test_account_password_works_without_mfa_and_a_wrong_one_is_refused(
    asgi_server: LiveServer, owner: Any, book: AddressBook, password: str
) -> None:
    good = CardDavClient(asgi_server.url + "/dav/", owner.username, password)
    bad = CardDavClient(asgi_server.url + "/dav/", owner.username, password + "x")
    try:
        assert path_of(good.home_set()) == "/dav/addressbooks/olivia/"
        answer = bad.propfind(book_url(asgi_server, "olivia", "contacts"), 0)
        assert answer.status == 401
    finally:
        good.close()
        bad.close()


def test_with_mfa_the_client_must_use_an_app_password(
    asgi_server: LiveServer, owner: Any, book: AddressBook, password: str
) -> None:
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    with_password = CardDavClient(asgi_server.url + "/dav/", owner.username, password)
    with_app_password = CardDavClient(asgi_server.url + "/dav/", owner.username, app_password(owner))
    try:
        url = book_url(asgi_server, "olivia", "contacts")
        assert with_password.propfind(url, 0).status == 401
        assert with_app_password.propfind(url, 0).status == 207
    finally:
        with_password.close()
        with_app_password.close()


def test_a_password_that_worked_stops_working_after_mfa_a_new_password_or_deactivation(
    asgi_server: LiveServer, owner: Any, book: AddressBook, password: str
) -> None:
    """A client keeps sending the same credentials: the server's memory of them must not outlive the rule."""
    from allauth.mfa.models import Authenticator

    url = book_url(asgi_server, "olivia", "contacts")
    client = CardDavClient(asgi_server.url + "/dav/", owner.username, password)
    try:
        assert client.propfind(url, 0).status == 207
        mfa = Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
        assert client.propfind(url, 0).status == 401
        mfa.delete()
        assert client.propfind(url, 0).status == 207
        owner.set_password("a different password altogether")
        owner.save()
        assert client.propfind(url, 0).status == 401
    finally:
        client.close()
    secret = app_password(owner)
    client = CardDavClient(asgi_server.url + "/dav/", owner.username, secret)
    try:
        assert client.propfind(url, 0).status == 207
        owner.is_active = False
        owner.save()
        assert client.propfind(url, 0).status == 401
    finally:
        client.close()


def test_revoked_app_password_stops_working(asgi_server: LiveServer, owner: Any, book: AddressBook) -> None:
    from apps.accounts.app_passwords import app_password_revoke

    created = app_password_create(user=owner, name="old phone")
    client = CardDavClient(asgi_server.url + "/dav/", owner.username, created.secret)
    try:
        url = book_url(asgi_server, "olivia", "contacts")
        assert client.propfind(url, 0).status == 207
        app_password_revoke(app_password=created.app_password)
        assert client.propfind(url, 0).status == 401
    finally:
        client.close()


# ---------------------------------------------------------------- caldav: cards
def test_caldav_card_lifecycle_keeps_unknown_properties_and_honours_etags(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    client = client_for(owner)
    url = book_url(asgi_server, "olivia", "contacts") + "anne.vcf"
    text = vcard(
        "anne-1",
        "Anne Martin",
        email="anne@example.test",
        extra="X-PHONE-APP-RINGTONE;X-FOO=bar:marimba\r\nTEL;TYPE=CELL:+33 6 12 34 56 78",
    )

    created = client.put(url, text, create=True)
    assert created.status == 201
    etag = created.headers.get("ETag")
    assert etag

    # The card is in Ruche's table, and its unknown property came back untouched.
    contact = Contact.objects.get(book=book, href="anne.vcf")
    assert contact.full_name == "Anne Martin"
    fetched = client.get(url)
    assert fetched.status == 200
    assert card_property(fetched._raw.decode(), "X-PHONE-APP-RINGTONE") == ["marimba"]
    assert fetched.headers.get("ETag") == etag

    # Creating over an existing card, or updating from a stale ETag, is a 412: nothing is lost.
    assert client.put(url, vcard("anne-1", "Someone Else"), create=True).status == 412
    assert client.put(url, vcard("anne-1", "Someone Else"), if_match='"stale"').status == 412
    assert Contact.objects.get(pk=contact.pk).full_name == "Anne Martin"

    updated = client.put(url, text.replace("FN:Anne Martin", "FN:Anne Martin-Leroy"), if_match=etag)
    assert updated.status in (200, 204)
    new_etag = updated.headers.get("ETag") or client.listing(url.rsplit("/", 1)[0] + "/")[path_of(url)]
    assert new_etag != etag
    assert Contact.objects.get(pk=contact.pk).full_name == "Anne Martin-Leroy"

    assert client.delete(url, if_match=etag).status == 412
    assert client.delete(url, if_match=new_etag).status in (200, 204)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert client.get(url).status == 404


def test_caldav_multiget_and_name_query(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    client = client_for(owner)
    base = book_url(asgi_server, "olivia", "contacts")
    names = {"zoe.vcf": "Zoé Lefèvre", "jan.vcf": "Jan Kowalski", "mei.vcf": "王 美玲", "sven.vcf": "Sven LEFEBVRE"}
    for name, full in names.items():
        assert client.put(base + name, vcard(new_uid(), full), create=True).status == 201

    listing = client.listing(base)
    assert set(listing) == {path_of(base) + n for n in names}

    wanted = [path_of(base) + "zoe.vcf", path_of(base) + "mei.vcf", path_of(base) + "missing.vcf"]
    cards = client.multiget(base, wanted)
    assert {h: card_property(c.data, "FN") for h, c in cards.items()} == {
        wanted[0]: ["Zoé Lefèvre"],
        wanted[1]: ["王 美玲"],
    }
    assert all(cards[h].etag == listing[h] for h in cards)

    # i;unicode-casemap (the query's collation) folds case, non-ASCII letters included.
    assert set(client.query_name(base, "lefebv")) == {path_of(base) + "sven.vcf"}
    assert set(client.query_name(base, "LEFÈVRE")) == {path_of(base) + "zoe.vcf"}
    assert set(client.query_name(base, "KOWAL")) == {path_of(base) + "jan.vcf"}
    assert set(client.query_name(base, "美玲")) == {path_of(base) + "mei.vcf"}
    assert client.query_name(base, "nobody-has-this-name") == {}


def test_caldav_sync_collection_reports_client_and_service_changes(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    client = client_for(owner)
    base = book_url(asgi_server, "olivia", "contacts")
    stays = services.contact_create(book=book, fields=CardFields(full_name="Stays Put"))
    goes = services.contact_create(book=book, fields=CardFields(full_name="Goes Away"))
    edited = services.contact_create(book=book, fields=CardFields(full_name="Gets Edited"))

    token, changed, removed = client.sync(base)
    assert set(changed) == {path_of(base) + c.href for c in (stays, goes, edited)}
    assert removed == set()

    assert client.put(base + "new.vcf", vcard(new_uid(), "Nouvelle Carte"), create=True).status == 201
    services.contact_update(contact=edited, fields=CardFields(full_name="Was Edited"))
    services.contact_delete(contact=goes)
    services.contact_create(book=book, fields=CardFields(full_name="Made In Ruche", emails=[Typed("m@example.test")]))
    made = Contact.objects.get(book=book, full_name="Made In Ruche")

    token2, changed, removed = client.sync(base, token)
    assert set(changed) == {path_of(base) + h for h in ("new.vcf", edited.href, made.href)}
    assert removed == {path_of(base) + goes.href}
    assert changed[path_of(base) + edited.href] == client.listing(base)[path_of(base) + edited.href]

    # Nothing changed since: an empty answer, and the token still works.
    token3, changed, removed = client.sync(base, token2)
    assert (changed, removed) == ({}, set())
    assert token3


def test_caldav_sync_with_an_invalid_token_is_refused(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    client = client_for(owner)
    base = book_url(asgi_server, "olivia", "contacts")
    body = (
        '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>http://nope/not-a-token'
        "</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
    answer = client.report(base, body, depth=None)
    # RFC 6578 section 3.2: 403 with the DAV:valid-sync-token precondition (some servers use 400/409).
    assert answer.status in (400, 403, 409)


# ---------------------------------------------------------------- refusals and shares
def _other_book_requests(base: str, card: str, card_path: str) -> list[tuple[str, str, str, dict[str, str]]]:
    propfind = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'
    multiget = (
        f'<?xml version="1.0"?><c:addressbook-multiget xmlns:d="DAV:" xmlns:c="{CARD}">'
        f"<d:prop><d:getetag/><c:address-data/></d:prop><d:href>{card_path}</d:href></c:addressbook-multiget>"
    )
    query = (
        f'<?xml version="1.0"?><c:addressbook-query xmlns:d="DAV:" xmlns:c="{CARD}">'
        '<d:prop><c:address-data/></d:prop><c:filter><c:prop-filter name="FN">'
        '<c:text-match match-type="contains">Secret</c:text-match></c:prop-filter></c:filter></c:addressbook-query>'
    )
    sync = (
        '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level>'
        "<d:prop><d:getetag/></d:prop></d:sync-collection>"
    )
    proppatch = (
        '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop>'
        "<d:displayname>pwned</d:displayname></d:prop></d:set></d:propertyupdate>"
    )
    home = base.rsplit("/", 2)[0] + "/"
    d0, d1 = {"Depth": "0"}, {"Depth": "1"}
    return [
        ("PROPFIND", home, propfind, d1),
        ("PROPFIND", base, propfind, d0),
        ("PROPFIND", base, propfind, d1),
        ("PROPFIND", card, propfind, d0),
        ("GET", card, "", {}),
        ("HEAD", card, "", {}),
        ("GET", base, "", {}),
        ("PUT", card, vcard("secret-1", "Hijacked"), {"Content-Type": "text/vcard"}),
        ("PUT", base + "planted.vcf", vcard(new_uid(), "Planted"), {"Content-Type": "text/vcard"}),
        ("DELETE", card, "", {}),
        ("DELETE", base, "", {}),
        ("PROPPATCH", base, proppatch, {}),
        ("MKCOL", home + "intruder/", "", {}),
        ("REPORT", base, multiget, d1),
        ("REPORT", base, query, d1),
        ("REPORT", base, sync, d0),
        ("COPY", card, "", {"Destination": base + "copy.vcf"}),
        ("MOVE", card, "", {"Destination": base + "moved.vcf"}),
    ]


def test_outsider_is_refused_on_every_url_propfind_and_report_of_the_owners_book(
    client_for: Any, asgi_server: LiveServer, owner: Any, outsider: Any, book: AddressBook
) -> None:
    services.contact_create(book=book, fields=CardFields(full_name="Secret Person"))
    secret = Contact.objects.get(book=book)
    base = book_url(asgi_server, "olivia", "contacts")
    card = base + secret.href
    before = contact_texts(book)
    client = client_for(outsider)

    requests = _other_book_requests(base, card, path_of(card))
    # The path a share would give, guessed under the outsider's own home (whose home itself is theirs).
    guessed = asgi_server.url + f"/dav/addressbooks/oscar/shared-{book.pk}/"
    requests += [
        r
        for r in _other_book_requests(guessed, guessed + secret.href, path_of(guessed + secret.href))
        if not r[1].endswith("/addressbooks/oscar/") and r[0] != "MKCOL"
    ]
    for method, url, body, headers in requests:
        answer = client.request(method, url, body, headers)
        assert answer.status in REFUSED, f"{method} {url}: {answer.status}"
        assert b"Secret Person" not in (answer._raw or b""), f"{method} {url} leaked the card"

    assert contact_texts(book) == before
    assert AddressBook.objects.get(pk=book.pk).name == book.name
    # The outsider's own home does not list it either.
    assert all("olivia" not in b.url for b in client.books())


def test_colleague_with_a_read_share_reads_but_cannot_write(
    client_for: Any, asgi_server: LiveServer, owner: Any, colleague: Any, book: AddressBook
) -> None:
    services.contact_create(book=book, fields=CardFields(full_name="Shared Person"))
    shared = Contact.objects.get(book=book)
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.READ, grantee_user=colleague)
    client = client_for(colleague)

    books = {path_of(b.url): b for b in client.books()}
    shared_path = f"/dav/addressbooks/colin/shared-{book.pk}/"
    assert shared_path in books
    base = asgi_server.url + shared_path

    listing = client.listing(base)
    assert list(listing) == [shared_path + shared.href]
    cards = client.multiget(base, [shared_path + shared.href])
    assert card_property(cards[shared_path + shared.href].data, "FN") == ["Shared Person"]
    assert client.get(base + shared.href).status == 200

    before = contact_texts(book)
    etag = listing[shared_path + shared.href]
    assert client.put(base + shared.href, vcard(shared.uid, "Changed"), if_match=etag).status in (403, 404, 412)
    assert client.put(base + "new.vcf", vcard(new_uid(), "New One"), create=True).status in (403, 404, 412)
    assert client.delete(base + shared.href, if_match=etag).status in (403, 404, 412)
    assert contact_texts(book) == before


def test_colleague_with_a_write_share_can_write(
    client_for: Any, asgi_server: LiveServer, owner: Any, colleague: Any, book: AddressBook
) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.WRITE, grantee_user=colleague)
    client = client_for(colleague)
    base = asgi_server.url + f"/dav/addressbooks/colin/shared-{book.pk}/"

    created = client.put(base + "from-colin.vcf", vcard(new_uid(), "Added By Colin"), create=True)
    assert created.status == 201
    contact = Contact.objects.get(book=book, href="from-colin.vcf")
    assert contact.full_name == "Added By Colin"

    updated = client.put(
        base + "from-colin.vcf", vcard(contact.uid, "Edited By Colin"), if_match=created.headers["ETag"]
    )
    assert updated.status in (200, 204)
    assert Contact.objects.get(pk=contact.pk).full_name == "Edited By Colin"
    # The owner sees the change in their own sync.
    owner_client = client_for(owner)
    _token, changed, _removed = owner_client.sync(book_url(asgi_server, "olivia", "contacts"))
    assert "/dav/addressbooks/olivia/contacts/from-colin.vcf" in changed


# ---------------------------------------------------------------- vdirsyncer
@pytest.fixture
def vdirsyncer_for(asgi_server: LiveServer, tmp_path: Path) -> Any:
    if not (Path(sys.executable).parent / "vdirsyncer").exists() and not shutil.which("vdirsyncer"):
        missing_service("vdirsyncer is not installed (requirements-dev.txt)")

    def make(user: Any, name: str = "sync", conflict_resolution: str | None = None) -> Vdirsyncer:
        return Vdirsyncer(
            tmp_path / name,
            url=asgi_server.url + "/.well-known/carddav",
            username=user.username,
            password=app_password(user),
            conflict_resolution=conflict_resolution,
        )

    return make


def _uid_of(text: str) -> str:
    return card_property(text, "UID")[0]


def _by_uid(files: dict[str, str]) -> dict[str, str]:
    return {_uid_of(text): text for text in files.values()}


def test_vdirsyncer_syncs_both_ways(
    vdirsyncer_for: Any, client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    in_ruche = services.contact_create(book=book, fields=CardFields(full_name="Made In Ruche"))
    client = client_for(owner)
    base = book_url(asgi_server, "olivia", "contacts")
    assert client.put(base + "phone.vcf", vcard("from-phone", "From A Phone"), create=True).status == 201
    sync = vdirsyncer_for(owner)

    sync.discover()
    sync.sync()
    local = _by_uid(sync.files("contacts"))
    assert set(local) == {in_ruche.uid, "from-phone"}
    assert card_property(local[in_ruche.uid], "FN") == ["Made In Ruche"]

    # Local changes reach Ruche: a new file, an edited one, a deleted one.
    folder = sync.folder("contacts")
    (folder / "laptop.vcf").write_text(vcard("from-laptop", "Écrit Sur Le Portable"), encoding="utf-8")
    phone_file = next(p for p in folder.glob("*.vcf") if _uid_of(p.read_text()) == "from-phone")
    phone_file.write_text(vcard("from-phone", "From A Phone Edited", email="p@example.test"), encoding="utf-8")
    ruche_file = next(p for p in folder.glob("*.vcf") if _uid_of(p.read_text()) == in_ruche.uid)
    ruche_file.unlink()
    sync.sync()

    names = dict(Contact.objects.filter(book=book).values_list("uid", "full_name"))
    assert names == {"from-laptop": "Écrit Sur Le Portable", "from-phone": "From A Phone Edited"}
    assert Contact.objects.get(book=book, uid="from-phone").email == "p@example.test"

    # Changes made in Ruche through its services reach the files.
    laptop = Contact.objects.get(book=book, uid="from-laptop")
    services.contact_update(contact=laptop, fields=CardFields(full_name="Renamed In Ruche"))
    services.contact_delete(contact=Contact.objects.get(book=book, uid="from-phone"))
    services.contact_create(book=book, fields=CardFields(full_name="Second From Ruche"))
    sync.sync()
    local = _by_uid(sync.files("contacts"))
    assert {card_property(t, "FN")[0] for t in local.values()} == {"Renamed In Ruche", "Second From Ruche"}


@pytest.mark.parametrize(("resolution", "winner"), [("a wins", "ruche"), ("b wins", "local")])
def test_vdirsyncer_conflict_resolution_picks_the_chosen_side(
    vdirsyncer_for: Any, owner: Any, book: AddressBook, resolution: str, winner: str
) -> None:
    contact = services.contact_create(book=book, fields=CardFields(full_name="Both Sides"))
    sync = vdirsyncer_for(owner, conflict_resolution=resolution)
    sync.discover()
    sync.sync()

    services.contact_update(contact=contact, fields=CardFields(full_name="Changed In Ruche"))
    path = next(iter(sync.folder("contacts").glob("*.vcf")))
    path.write_text(vcard(contact.uid, "Changed On The Laptop"), encoding="utf-8")
    sync.sync()

    expected = "Changed In Ruche" if winner == "ruche" else "Changed On The Laptop"
    assert Contact.objects.get(pk=contact.pk).full_name == expected
    assert [card_property(t, "FN")[0] for t in sync.files("contacts").values()] == [expected]


def test_vdirsyncer_conflict_without_resolution_is_reported_and_loses_nothing(
    vdirsyncer_for: Any, owner: Any, book: AddressBook
) -> None:
    contact = services.contact_create(book=book, fields=CardFields(full_name="Both Sides"))
    sync = vdirsyncer_for(owner)
    sync.discover()
    sync.sync()

    services.contact_update(contact=contact, fields=CardFields(full_name="Changed In Ruche"))
    path = next(iter(sync.folder("contacts").glob("*.vcf")))
    path.write_text(vcard(contact.uid, "Changed On The Laptop"), encoding="utf-8")
    result = sync.sync(check=False)

    assert result.returncode != 0
    assert "conflict" in (result.stderr + result.stdout).lower()
    assert Contact.objects.get(pk=contact.pk).full_name == "Changed In Ruche"
    assert card_property(path.read_text(encoding="utf-8"), "FN") == ["Changed On The Laptop"]


def test_propfind_answers_are_multistatus_with_etags(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    """The listing a client builds its cache from: one response per card, with the ETag GET gives."""
    client = client_for(owner)
    base = book_url(asgi_server, "olivia", "contacts")
    services.contact_create(book=book, fields=CardFields(full_name="Listed"))
    contact = Contact.objects.get(book=book)

    answer = client.propfind(base, 1, (D, "getetag"), (D, "getcontenttype"), (D, "resourcetype"))
    assert answer.status == 207
    results, _token = parse_multistatus(answer._raw)
    card = next(r for r in results if r.href.endswith(contact.href))
    assert (card.props[q(D, "getcontenttype")].text or "").startswith("text/vcard")
    assert card.props[q(D, "getetag")].text == client.get(base + contact.href).headers["ETag"]


def test_vdirsyncer_syncs_a_book_shared_for_writing(
    vdirsyncer_for: Any, owner: Any, colleague: Any, book: AddressBook
) -> None:
    services.contact_create(book=book, fields=CardFields(full_name="Team Member"))
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=ShareLevel.WRITE, grantee_user=colleague)
    sync = vdirsyncer_for(colleague)
    sync.discover()
    sync.sync()

    shared = f"shared-{book.pk}"
    assert [card_property(t, "FN") for t in sync.files(shared).values()] == [["Team Member"]]
    (sync.folder(shared) / "added-by-colin.vcf").write_text(vcard("from-colin", "Added By Colin"), encoding="utf-8")
    sync.sync()
    assert Contact.objects.get(book=book, uid="from-colin").full_name == "Added By Colin"


def test_vdirsyncer_of_the_outsider_never_sees_the_owners_book(
    vdirsyncer_for: Any, owner: Any, outsider: Any, book: AddressBook
) -> None:
    services.contact_create(book=book, fields=CardFields(full_name="Secret Person"))
    services.book_ensure_personal(user=outsider)
    sync = vdirsyncer_for(outsider)
    sync.discover()
    sync.sync()

    folders = sorted(p.name for p in sync.local.iterdir())
    assert folders == ["contacts"]
    assert sync.files("contacts") == {}


def test_vdirsyncer_upload_of_an_oversized_card_is_refused_and_the_file_is_kept(
    vdirsyncer_for: Any, owner: Any, book: AddressBook
) -> None:
    services.contact_create(book=book, fields=CardFields(full_name="Already There"))
    sync = vdirsyncer_for(owner)
    sync.discover()
    sync.sync()

    photo = "A" * (2 * 1024 * 1024)  # far above any sane card size
    big = sync.folder("contacts") / "huge.vcf"
    big.write_text(vcard("huge-one", "Huge Photo", extra=f"PHOTO;ENCODING=b;TYPE=JPEG:{photo}"), encoding="utf-8")
    result = sync.sync(check=False)

    assert result.returncode != 0
    assert big.exists()
    assert list(Contact.objects.filter(book=book).values_list("full_name", flat=True)) == ["Already There"]
    # The next sync of everything else still works once the file is gone.
    big.unlink()
    sync.sync()


def test_caldav_put_of_a_huge_card_hits_the_size_caps(
    client_for: Any, asgi_server: LiveServer, owner: Any, book: AddressBook
) -> None:
    from django.conf import settings

    client = client_for(owner)
    url = book_url(asgi_server, "olivia", "contacts") + "huge.vcf"

    def card_of(size: int) -> str:
        return vcard("huge-one", "Huge Photo", extra=f"PHOTO;ENCODING=b;TYPE=JPEG:{'A' * size}")

    # Above the card limit: 403 with the CARDDAV:max-resource-size precondition (RFC 6352 section 6.3.2.1).
    over_card = client.put(url, card_of(settings.RUCHE_DAV_MAX_CARD_BYTES + 1024), create=True)
    assert over_card.status == 403
    assert b"max-resource-size" in over_card._raw
    # Above the body cap of every DAV method: 413.
    over_body = client.put(url, card_of(settings.RUCHE_DAV_MAX_BODY_BYTES + 1024), create=True)
    assert over_body.status == 413
    assert not Contact.objects.filter(book=book).exists()
