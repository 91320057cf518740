from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.contacts import services, vcards
from apps.contacts.models import Contact
from tests.contacts.test_vcards import CARD_30

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_contact(owner: Any) -> Contact:
    book = services.book_ensure_personal(user=owner)
    services.book_import(book=book, data=CARD_30.encode())
    return Contact.objects.get(book=book)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    client = Client()
    client.force_login(outsider)
    return client


def test_list_creates_the_personal_book_and_shows_contacts(owner_client: Client, owner_contact: Contact) -> None:
    response = owner_client.get(reverse("contacts:list"))
    assert response.status_code == 200
    assert "Jeanne Martin" in response.content.decode()
    assert reverse("contacts:list") in response.content.decode()  # in the rail


def test_search_returns_the_results_part_only(owner_client: Client, owner_contact: Contact) -> None:
    book = owner_contact.book
    services.contact_create(book=book, fields=vcards.CardFields(full_name="Bruno Costa"))
    response = owner_client.get(reverse("contacts:list"), {"q": "acme"}, headers={"X-Ruche-Partial": "results"})
    body = response.content.decode()
    assert "Jeanne Martin" in body
    assert "Bruno Costa" not in body
    assert "<html" not in body
    response = owner_client.get(reverse("contacts:list"), {"q": "costa"})
    assert "Bruno Costa" in response.content.decode()
    assert "Jeanne Martin" not in response.content.decode()


def test_list_query_count_does_not_grow_with_contacts(
    owner_client: Client, owner_contact: Contact, django_assert_max_num_queries: Any
) -> None:
    for n in range(30):
        services.contact_create(book=owner_contact.book, fields=vcards.CardFields(full_name=f"P {n}"))
    with django_assert_max_num_queries(8):
        owner_client.get(reverse("contacts:list"))


def test_detail_links_to_the_composer(owner_client: Client, owner_contact: Contact) -> None:
    body = owner_client.get(reverse("contacts:detail", args=[owner_contact.pk])).content.decode()
    assert "jeanne@acme.test" in body
    assert reverse("mail:compose") + "?to=Jeanne+Martin+%3Cjeanne%40acme.test%3E" in body.replace("&amp;", "&")
    assert "1 rue de la Paix" in body


def test_create_through_the_form(owner_client: Client, owner: Any) -> None:
    response = owner_client.post(
        reverse("contacts:new"),
        {
            "given": "Ana",
            "family": "Lima",
            "email_0_value": "ana@x.test",
            "email_0_type": "work",
            "phone_0_value": "+351 1",
            "phone_0_type": "cell",
            "phone_1_value": "+351 2",
        },
    )
    contact = Contact.objects.get(book__owner=owner)
    assert response.status_code == 302
    assert response["Location"] == reverse("contacts:detail", args=[contact.pk])
    fields = vcards.read_fields(vcards.parse_card(contact.vcard))
    assert fields.emails == [vcards.Typed("ana@x.test", ["work"])]
    assert [p.value for p in fields.phones] == ["+351 1", "+351 2"]


def test_form_refuses_a_bad_mail_and_a_nameless_contact(owner_client: Client, owner: Any) -> None:
    response = owner_client.post(reverse("contacts:new"), {"given": "Ana", "email_0_value": "not a mail"})
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    response = owner_client.post(reverse("contacts:new"), {"note": "who?"})
    assert "Give the contact a name" in response.content.decode()
    assert not Contact.objects.filter(book__owner=owner).exists()


def test_header_injection_in_a_field_cannot_add_properties(owner_client: Client, owner: Any) -> None:
    owner_client.post(reverse("contacts:new"), {"given": "Eve", "note": "hi\r\nEMAIL:evil@x.test\r\nEND:VCARD"})
    contact = Contact.objects.get(book__owner=owner)
    card = vcards.parse_card(contact.vcard)
    assert vcards.read_fields(card).emails == []
    assert contact.vcard.splitlines().count("END:VCARD") == 1
    assert vcards.read_fields(card).note == "hi\nEMAIL:evil@x.test\nEND:VCARD"


def test_edit_keeps_unknown_properties(owner_client: Client, owner_contact: Contact) -> None:
    url = reverse("contacts:edit", args=[owner_contact.pk])
    form = owner_client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["title"] = "Head chemist"
    response = owner_client.post(url, data)
    assert response.status_code == 302
    owner_contact.refresh_from_db()
    assert "TITLE:Head chemist" in owner_contact.vcard
    assert "X-CUSTOM-THING;X-PARAM=keep:secret value" in owner_contact.vcard
    assert "IMPP;X-SERVICE-TYPE=Jabber:xmpp:jeanne@acme.test" in owner_contact.vcard
    # The types the form does not offer (internet, pref) are kept on the unchanged mail.
    assert vcards.read_fields(vcards.parse_card(owner_contact.vcard)).emails[0].types == ["internet", "work", "pref"]
    data["email_0_type"] = "home"
    owner_client.post(url, data)
    owner_contact.refresh_from_db()
    assert vcards.read_fields(vcards.parse_card(owner_contact.vcard)).emails[0].types == ["home", "internet", "pref"]


def test_delete_asks_then_deletes(owner_client: Client, owner_contact: Contact) -> None:
    url = reverse("contacts:delete", args=[owner_contact.pk])
    assert owner_client.get(url).status_code == 200
    assert Contact.objects.filter(pk=owner_contact.pk).exists()
    assert owner_client.post(url).status_code == 302
    assert not Contact.objects.filter(pk=owner_contact.pk).exists()


def test_import_and_export(owner_client: Client, owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    bad = "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:x\r\nEND:VCARD\r\n"
    upload = SimpleUploadedFile("c.vcf", (bad + CARD_30).encode(), content_type="text/vcard")
    response = owner_client.post(reverse("contacts:import", args=[book.pk]), {"file": upload})
    body = response.content.decode()
    assert "1 new, 0 updated" in body
    assert "Card 1:" in body
    response = owner_client.get(reverse("contacts:export", args=[book.pk]))
    assert response["Content-Type"].startswith("text/vcard")
    assert response.content.decode() == CARD_30


def test_import_refuses_a_missing_or_binary_file(owner_client: Client, owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    url = reverse("contacts:import", args=[book.pk])
    assert "Choose a .vcf file" in owner_client.post(url, {}).content.decode()
    upload = SimpleUploadedFile("x.png", b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")
    assert "no vCard" in owner_client.post(url, {"file": upload}).content.decode()
    assert not Contact.objects.filter(book=book).exists()


def test_outsider_gets_404_on_every_url_of_the_owners_book(outsider_client: Client, owner_contact: Contact) -> None:
    book = owner_contact.book
    before = owner_contact.vcard
    for name in ("detail", "edit", "delete"):
        assert outsider_client.get(reverse(f"contacts:{name}", args=[owner_contact.pk])).status_code == 404
    for name in ("edit", "delete"):
        url = reverse(f"contacts:{name}", args=[owner_contact.pk])
        assert outsider_client.post(url, {"given": "Hacked"}).status_code == 404
    for name in ("import", "export"):
        url = reverse(f"contacts:{name}", args=[book.pk])
        assert outsider_client.get(url).status_code == 404
    upload = SimpleUploadedFile("c.vcf", CARD_30.replace("card-30", "x").encode())
    assert outsider_client.post(reverse("contacts:import", args=[book.pk]), {"file": upload}).status_code == 404
    assert "Jeanne Martin" not in outsider_client.get(reverse("contacts:list"), {"q": "jeanne"}).content.decode()
    owner_contact.refresh_from_db()
    assert owner_contact.vcard == before
    assert Contact.objects.filter(book=book).count() == 1


def test_anonymous_is_sent_to_sign_in(client: Client, owner_contact: Contact) -> None:
    response = client.get(reverse("contacts:detail", args=[owner_contact.pk]))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_write_a_mail_quotes_a_name_with_a_comma(owner_client: Client, owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    contact = services.contact_create(
        book=book, fields=vcards.CardFields(full_name='Martin, "Jo"', emails=[vcards.Typed("jo@x.test")])
    )
    response = owner_client.get(reverse("contacts:detail", args=[contact.pk]))
    assert response.context["compose_url"] == reverse("mail:compose") + "?" + urlencode(
        {"to": '"Martin, \\"Jo\\"" <jo@x.test>'}
    )


def test_a_stored_card_vobject_cannot_read_still_shows(owner_client: Client, owner_contact: Contact) -> None:
    Contact.objects.filter(pk=owner_contact.pk).update(vcard="BEGIN:VCARD\r\nVERSION:3.0\r\nFN:broken")
    response = owner_client.get(reverse("contacts:detail", args=[owner_contact.pk]))
    assert response.status_code == 200
    assert "jeanne@acme.test" in response.content.decode()
    response = owner_client.get(reverse("contacts:edit", args=[owner_contact.pk]), follow=True)
    assert "cannot be edited here" in response.content.decode()
