"""Likely duplicates and merging two cards into one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.contacts import merge, normalise, services, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.changes import changes_since, current_token
from apps.core.sharing import ShareLevel, share_grant
from tests.contacts.test_vcards import CARD_30

pytestmark = pytest.mark.django_db

# Jeanne again, from a phone: other case and accents in the name, the mobile number written
# nationally, a new work phone, a second address, another group and a note.
JEANNE_PHONE = (
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:phone-jeanne\r\nFN:MARTIN Jéanne\r\n"
    "EMAIL;TYPE=work:Jeanne@Acme.test\r\nTEL;TYPE=cell:06 12 34 56 78\r\nTEL;TYPE=work:+33 1 40 00 00 00\r\n"
    "ADR;TYPE=work:;;5 avenue Foch;Lyon;;69006;France\r\nCATEGORIES:Chemistry,Conference\r\n"
    "NOTE:Prefers calls\r\nX-PHONE-ONLY:kept\r\nEND:VCARD\r\n"
)
OTHER = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:someone\r\nFN:Someone Else\r\nTEL:+1 555 0100 200\r\nEND:VCARD\r\n"
# Shares only the phone number with SAME_PHONE_2.
SAME_PHONE_1 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:sp-1\r\nFN:Desk A\r\nTEL:+44 20 7946 0958\r\nEND:VCARD\r\n"
SAME_PHONE_2 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:sp-2\r\nFN:Desk B\r\nTEL:020 7946 0958\r\nEND:VCARD\r\n"


@pytest.fixture
def book(owner: Any) -> AddressBook:
    book = services.book_ensure_personal(user=owner)
    services.book_import(book=book, data=(CARD_30 + JEANNE_PHONE + OTHER + SAME_PHONE_1 + SAME_PHONE_2).encode())
    return book


def _get(uid: str) -> Contact:
    return Contact.objects.get(uid=uid)


def test_normalised_keys() -> None:
    assert normalise.name_key("MARTIN, Jéanne") == normalise.name_key("jeanne martin") == "jeanne martin"
    assert normalise.phone_key("+33 6 12 34 56 78") == normalise.phone_key("06.12.34.56.78")
    assert normalise.phone_key("112") == ""
    assert normalise.mail_key("MAILTO:Jeanne@Acme.TEST") == "jeanne@acme.test"
    assert normalise.mail_key("not a mail") == ""


def test_duplicates_cluster_by_mail_phone_or_name(book: AddressBook) -> None:
    clusters = merge.duplicate_clusters(book=book)
    by_uids = [sorted(c.uid for c in cluster.contacts) for cluster in clusters]
    assert sorted(by_uids) == [["card-30", "urn:uuid:phone-jeanne"], ["sp-1", "sp-2"]]
    jeanne = next(
        c for c in clusters if len(c.contacts) == 2 and c.contacts[0].uid in ("card-30", "urn:uuid:phone-jeanne")
    )
    assert any("jeanne@acme.test" in reason for reason in jeanne.reasons)
    assert merge.duplicates_of(contact=_get("sp-1")) == [_get("sp-2")]
    assert merge.duplicates_of(contact=_get("someone")) == []


def test_a_key_shared_by_too_many_cards_makes_no_cluster(owner: Any) -> None:
    book = services.book_create(owner=owner, name="Switchboard")
    data = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:s-{n}\r\nFN:Person {n}\r\nTEL:+33 1 00 00 00 00\r\nEND:VCARD\r\n"
        for n in range(merge.MAX_CLUSTER_SIZE + 1)
    )
    services.book_import(book=book, data=data.encode())
    assert merge.duplicate_clusters(book=book) == []


def test_merge_keeps_the_kept_text_and_adds_what_only_the_other_has(book: AddressBook) -> None:
    keep, other = _get("card-30"), _get("urn:uuid:phone-jeanne")
    token = current_token(book)
    services.contact_merge(keep=keep, other=other)
    merged = _get("card-30")
    assert not Contact.objects.filter(uid="urn:uuid:phone-jeanne").exists()
    card = vcards.parse_card(merged.vcard)
    fields = vcards.read_fields(card)
    # The mail and the mobile were already there (in another form): not added twice.
    assert [e.value for e in fields.emails] == ["jeanne@acme.test", "jeanne@home.test"]
    assert [p.value for p in fields.phones] == ["+33 6 12 34 56 78", "+33 1 40 00 00 00"]
    assert [a.value for a in vcards.addresses(card)] == [
        "1 rue de la Paix, 75002, Paris, France",
        "5 avenue Foch, 69006, Lyon, France",
    ]
    assert fields.categories == ["Work", "Chemistry", "Conference"]
    assert fields.note == "Met at the fair\n\nPrefers calls"
    assert fields.full_name == "Jeanne Martin"  # the kept card's name
    # The kept card's own unknown properties and photo stay; the other's unknown ones are not mixed in.
    assert "X-CUSTOM-THING;X-PARAM=keep:secret value" in merged.vcard
    assert "PHOTO" in merged.vcard
    assert merged.uid == "card-30"
    changes = changes_since(book, token).changed
    assert changes == {keep.href: False, other.href: True}


def test_merge_copies_a_photo_when_the_kept_card_has_none(book: AddressBook) -> None:
    services.contact_merge(keep=_get("urn:uuid:phone-jeanne"), other=_get("card-30"))
    merged = _get("urn:uuid:phone-jeanne")
    # The 3.0 inline photo becomes the data: URI a 4.0 card uses.
    assert "PHOTO:data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==" in merged.vcard
    fields = vcards.read_fields(vcards.parse_card(merged.vcard))
    assert (fields.nickname, fields.birthday, fields.organisation) == ("Jo", "1980-04-21", "Acme")
    assert "X-PHONE-ONLY:kept" in merged.vcard


def test_merge_refuses_the_same_card_or_two_books(owner: Any, book: AddressBook) -> None:
    keep = _get("card-30")
    with pytest.raises(vcards.VCardError):
        services.contact_merge(keep=keep, other=keep)
    other_book = services.book_create(owner=owner, name="Other")
    services.book_import(book=other_book, data=OTHER.replace("someone", "elsewhere").encode())
    with pytest.raises(vcards.VCardError):
        services.contact_merge(keep=keep, other=_get("elsewhere"))
    assert Contact.objects.filter(uid__in=["card-30", "elsewhere"]).count() == 2


def test_duplicates_page_lists_clusters_with_merge_links(owner_client: Client, book: AddressBook) -> None:
    body = owner_client.get(reverse("contacts:duplicates", args=[book.pk])).content.decode()
    assert "Desk A" in body
    assert "Desk B" in body
    assert "Someone Else" not in body
    assert reverse("contacts:merge", args=[_get("sp-1").pk]) + f"?other={_get('sp-2').pk}" in body


def test_merge_page_previews_then_merges(owner_client: Client, book: AddressBook) -> None:
    keep, other = _get("card-30"), _get("urn:uuid:phone-jeanne")
    url = reverse("contacts:merge", args=[keep.pk])
    choose = owner_client.get(url).content.decode()
    assert f"?other={other.pk}" in choose  # the likely duplicate is offered first
    preview = owner_client.get(url, {"other": other.pk})
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "5 avenue Foch" in body
    assert "Conference" in body
    assert Contact.objects.filter(pk=other.pk).exists()  # a preview changes nothing
    duplicates_url = reverse("contacts:duplicates", args=[book.pk])
    assert "Jeanne Martin" in owner_client.get(duplicates_url).content.decode()  # now cached
    response = owner_client.post(url, {"other": other.pk})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=other.pk).exists()
    assert "Jeanne Martin" not in owner_client.get(duplicates_url).content.decode()  # the merge moved the token


def test_merge_search_finds_cards_of_the_same_book(owner_client: Client, book: AddressBook) -> None:
    body = owner_client.get(reverse("contacts:merge", args=[_get("card-30").pk]), {"q": "someone"}).content.decode()
    assert f"?other={_get('someone').pk}" in body


def test_reader_cannot_merge_and_outsider_gets_404(
    owner: Any, colleague: Any, outsider: Any, book: AddressBook
) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, grantee_user=colleague, level=ShareLevel.READ)
    keep, other = _get("sp-1"), _get("sp-2")
    for user in (colleague, outsider):
        client = Client()
        client.force_login(user)
        url = reverse("contacts:merge", args=[keep.pk])
        assert client.get(url, {"other": other.pk}).status_code == 404
        assert client.post(url, {"other": other.pk}).status_code == 404
    reader = Client()
    reader.force_login(colleague)
    assert reader.get(reverse("contacts:duplicates", args=[book.pk])).status_code == 200
    outsider_client = Client()
    outsider_client.force_login(outsider)
    assert outsider_client.get(reverse("contacts:duplicates", args=[book.pk])).status_code == 404
    assert Contact.objects.filter(pk__in=[keep.pk, other.pk]).count() == 2


def test_owner_cannot_merge_in_a_card_of_someone_elses_book(owner: Any, outsider: Any, book: AddressBook) -> None:
    foreign = services.book_ensure_personal(user=outsider)
    services.book_import(book=foreign, data=OTHER.replace("someone", "theirs").encode())
    client = Client()
    client.force_login(owner)
    url = reverse("contacts:merge", args=[_get("card-30").pk])
    assert client.post(url, {"other": _get("theirs").pk}).status_code == 404
    assert client.post(url, {"other": "abc"}).status_code == 404
    assert Contact.objects.filter(uid="theirs").exists()


def test_merging_an_unreadable_card_is_refused_with_a_reason(owner_client: Client, book: AddressBook) -> None:
    broken = _get("someone")
    Contact.objects.filter(pk=broken.pk).update(vcard="BEGIN:VCARD\r\nVERSION:2.1\r\nFN:x\r\nEND:VCARD\r\n")
    response = owner_client.post(reverse("contacts:merge", args=[_get("sp-1").pk]), {"other": broken.pk})
    assert response.status_code == 400
    assert Contact.objects.filter(pk=broken.pk).exists()


def test_apple_labelled_lines_keep_their_own_label() -> None:
    head = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\n"
    keep = head + "UID:a\r\nitem1.EMAIL:a@b.test\r\nitem1.X-ABLabel:Mine\r\nEND:VCARD\r\n"
    other = head + "UID:b\r\nitem1.EMAIL:z@b.test\r\nitem1.X-ABLabel:Theirs\r\nEND:VCARD\r\n"
    text = merge.merged_card(keep=keep, other=other).text
    assert "item1.EMAIL:a@b.test" in text
    assert "item1.X-ABLABEL:Mine" in text
    assert "item2.EMAIL:z@b.test" in text
    assert "item2.X-ABLABEL:Theirs" in text


def test_merge_keeps_both_cards_uri_values_whole() -> None:
    from tests.contacts.test_vcards import LOSSY_FOR_VOBJECT

    other = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:lossy-2\r\nFN:Ana Lima\r\nEMAIL:ana@lima.test\r\n"
        "LOGO:data:image/png;base64,AAAA,BBBB\r\nEND:VCARD\r\n"
    )
    plan = merge.merged_card(keep=LOSSY_FOR_VOBJECT, other=other)
    lines = plan.text.split("\r\n")
    assert "RELATED;TYPE=friend:urn:uuid:a,b" in lines
    assert "NICKNAME:Ana,Anita" in lines
    assert " UAAAAABJRU5ErkJggg==" in lines  # keep's folded photo, untouched
    assert "LOGO:data:image/png;base64,AAAA,BBBB" in lines
    assert any(line.startswith("EMAIL") and line.endswith("ana@lima.test") for line in lines)
