"""The directory of colleagues: list, search, presence, a person's page, export, and profile fields."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import vobject
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.services import user_update_directory_fields
from apps.chat import presence
from apps.contacts import directory
from apps.contacts.models import Contact
from apps.contacts.services import book_ensure_personal, contact_create
from apps.contacts.vcards import CardFields, Typed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/contacts/directory/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _export(client: Client) -> tuple[Any, str]:
    response: Any = client.get(reverse("contacts:directory_export"))
    return response, b"".join(response.streaming_content).decode()


def test_directory_url_is_named_and_needs_sign_in() -> None:
    assert reverse("contacts:directory") == URL
    response = Client().get(URL)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_directory_lists_active_people_by_name_with_their_fields(owner: Any, colleague: Any) -> None:
    UserFactory(username="zed", display_name="Aaron Zed", phone="+33 1 02 03 04 05", job_title="Accountant")
    UserFactory(username="gone", display_name="Gone Person", is_active=False)

    response = _client(owner).get(URL)

    assert response.status_code == 200
    names = [p.name for p in response.context["people"]]
    assert names == ["Aaron Zed", "Colin Colleague", "Olivia Owner"]
    body = response.content.decode()
    assert "Gone Person" not in body
    assert 'href="tel:+33102030405"' in body
    assert "Accountant" in body
    assert "Colleagues see" not in body  # the directory is read-only: no form on it


def test_write_a_mail_link_goes_to_the_composer_with_the_person(owner: Any) -> None:
    UserFactory(username="q", display_name="Quinn, Q.", email="quinn@example.test")

    person = next(p for p in directory.directory_page(query="quinn", number=1)[1])

    parts = urlsplit(person.compose_url)
    assert parts.path == reverse("mail:compose")
    assert parse_qs(parts.query)["to"] == ['"Quinn, Q." <quinn@example.test>']
    assert person.compose_url.replace("&", "&amp;") in _client(owner).get(URL).content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Aaron", ["Aaron Zed"]),
        ("zed@example", ["Aaron Zed"]),
        ("0405", ["Aaron Zed"]),
        ("account", ["Aaron Zed"]),
        ("olivia owner", ["Olivia Owner"]),
        ("nobody-here", []),
    ],
)
def test_search_matches_name_mail_phone_and_title(owner: Any, query: str, expected: list[str]) -> None:
    UserFactory(username="zed", display_name="Aaron Zed", phone="01 02 03 04 05", job_title="Accountant")
    UserFactory(username="gone", display_name="Aaron Gone", is_active=False)

    response = _client(owner).get(URL, {"q": query}, headers={"X-Ruche-Partial": "results"})

    assert response.status_code == 200
    assert [p.name for p in response.context["people"]] == expected
    assert "<html" not in response.content.decode()  # the partial alone


def test_hostile_search_input_is_harmless(owner: Any) -> None:
    for query in ["%", "_", "\\", "' OR 1=1 --", "<script>alert(1)</script>", "x" * 10_000, "\x00"]:
        response = _client(owner).get(URL, {"q": query, "page": "abc"})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.content.decode()


def test_directory_is_paged_and_its_query_count_does_not_grow(owner: Any) -> None:
    for n in range(directory.PAGE_SIZE + 5):
        UserFactory(username=f"p{n:03d}", display_name=f"Person {n:03d}")
    client = _client(owner)
    client.get(URL)  # warm the session and the content types

    with CaptureQueriesContext(connection) as first:
        response = client.get(URL)
    assert len(response.context["people"]) == directory.PAGE_SIZE
    with CaptureQueriesContext(connection) as second:
        response = client.get(URL, {"page": 2})

    assert [p.name for p in response.context["people"]][-1] == "Person 054"
    assert len(second.captured_queries) == len(first.captured_queries) <= 6


def test_presence_is_shown_for_each_person(owner: Any, colleague: Any) -> None:
    presence.presence_touch(user_id=colleague.pk, conn_id="tab", state="active")

    body = _client(owner).get(URL).content.decode()

    assert f'data-user-id="{colleague.pk}" data-status="online"' in body
    assert f'data-user-id="{owner.pk}" data-status="offline"' in body
    assert "data-presence-list" in body
    assert 'id="status-labels"' in body


def test_outsider_sees_the_directory_but_nothing_private(owner: Any, outsider: Any) -> None:
    book = book_ensure_personal(user=owner)
    contact_create(book=book, fields=CardFields(full_name="Secret Friend", emails=[Typed("friend@private.test")]))
    owner.phone = "+33 6 00 00 00 00"
    owner.save()

    client = _client(outsider)
    listing = client.get(URL).content.decode()
    person = client.get(reverse("contacts:directory_person", args=[owner.pk]))
    export = _export(client)[1]

    assert "Olivia Owner" in listing
    assert "+33 6 00 00 00 00" in listing
    for text in (listing, person.content.decode(), export):
        assert "Secret Friend" not in text
        assert "friend@private.test" not in text
        assert "last_login" not in text
        assert "argon2" not in text
    assert Contact.objects.filter(book=book).count() == 1


def test_person_page_shows_the_person_and_refuses_inactive_or_unknown(owner: Any, colleague: Any) -> None:
    gone: Any = UserFactory(username="gone", is_active=False)
    client = _client(owner)

    response = client.get(reverse("contacts:directory_person", args=[colleague.pk]))

    assert response.status_code == 200
    assert "Colin Colleague" in response.content.decode()
    assert client.get(reverse("contacts:directory_person", args=[gone.pk])).status_code == 404
    assert client.get(reverse("contacts:directory_person", args=[999_999])).status_code == 404


def test_export_is_a_vcard_per_active_person_with_a_stable_uid(owner: Any, colleague: Any) -> None:
    colleague.job_title = "Designer"
    colleague.phone = "+1 555 0100"
    colleague.save()
    UserFactory(username="gone", display_name="Gone Person", is_active=False)
    client = _client(owner)

    response, text = _export(client)
    again = _export(client)[1]

    assert response["Content-Type"].startswith("text/vcard")
    cards = {card.fn.value: card for card in vobject.readComponents(text)}
    assert set(cards) == {"Colin Colleague", "Olivia Owner"}
    assert cards["Colin Colleague"].title.value == "Designer"
    assert cards["Colin Colleague"].tel.value == "+1 555 0100"
    assert cards["Colin Colleague"].email.value == colleague.email
    uids = [card.uid.value for card in vobject.readComponents(text)]
    assert uids == [card.uid.value for card in vobject.readComponents(again)]
    assert len(set(uids)) == 2


def test_contacts_list_links_to_the_directory(owner: Any) -> None:
    body = _client(owner).get(reverse("contacts:list")).content.decode()
    assert f'href="{URL}"' in body


# ---------------------------------------------------------------- profile
def _profile_post(**extra: str) -> dict[str, str]:
    return {"display_name": "Olivia Owner", "language": "", "time_zone": "", "theme": "auto", **extra}


def test_profile_saves_phone_and_job_title(owner: Any) -> None:
    client = _client(owner)

    response = client.post(reverse("accounts:profile"), _profile_post(phone=" +33 1 11 ", job_title="Chief of staff"))

    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.phone, owner.job_title) == ("+33 1 11", "Chief of staff")
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="+33 1 11"' in page
    assert 'value="Chief of staff"' in page


def test_profile_refuses_too_long_values(owner: Any) -> None:
    response = _client(owner).post(reverse("accounts:profile"), _profile_post(phone="1" * 65))

    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.phone == ""


def test_fields_fed_by_ldap_are_read_only_on_the_profile(owner: Any) -> None:
    owner.ldap_dn = "uid=olivia,ou=people,dc=ruche,dc=test"
    owner.phone = "+33 1 00"
    owner.job_title = "From LDAP"
    owner.save()
    client = _client(owner)

    page = client.get(reverse("accounts:profile")).content.decode()
    response = client.post(
        reverse("accounts:profile"), _profile_post(phone="666", job_title="Hacked", display_name="Other")
    )

    assert 'name="phone"' in page
    assert "disabled" in page
    assert "Managed by your organisation" in page
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.phone, owner.job_title, owner.display_name) == ("+33 1 00", "From LDAP", "Olivia Owner")
    with pytest.raises(Exception, match="managed by your organisation"):
        user_update_directory_fields(user=owner, phone="666", job_title="From LDAP")
