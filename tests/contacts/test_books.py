"""Several address books in the browser: the list of books, switching, creating, renaming, deleting,
the target book of a new contact, and who may reach which URL (outsider, read, write, manage)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.contacts import services, vcards
from apps.contacts.models import AddressBook, Contact
from apps.core.models import Share
from apps.core.sharing import ShareLevel, share_grant
from tests.contacts.test_vcards import CARD_30

pytestmark = pytest.mark.django_db

CARD = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:imported-1\r\nFN:Imported Person\r\nEND:VCARD\r\n"


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team_book(owner: Any) -> AddressBook:
    return services.book_create(owner=owner, name="Team", description="People of the team")


@pytest.fixture
def team_contact(team_book: AddressBook) -> Contact:
    return services.contact_create(book=team_book, fields=vcards.CardFields(full_name="Tina Team"))


def grant(owner: Any, book: AddressBook, person: Any, level: ShareLevel) -> None:
    share_grant(actor=owner, collection=book, owner_id=owner.pk, level=level, grantee_user=person)


def list_page(client: Client, **params: Any) -> str:
    response = client.get(reverse("contacts:list"), params)
    assert response.status_code == 200
    return response.content.decode()


# ---------------------------------------------------------------- the list of books
def test_list_shows_own_books_then_shared_ones_with_owner_and_level(
    owner: Any, colleague: Any, team_book: AddressBook
) -> None:
    theirs = services.book_create(owner=colleague, name="Colin's clients")
    grant(colleague, theirs, owner, ShareLevel.WRITE)
    body = list_page(client_for(owner))
    mine = body.index("My address books")
    shared = body.index("Shared with me")
    assert mine < body.index(">Team<", mine) < shared
    assert body.index("Colin&#x27;s clients", shared) > shared
    assert "Colin Colleague · Read and write" in body


def test_switching_book_shows_its_contacts_and_is_remembered(
    owner: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    client = client_for(owner)
    personal = services.book_ensure_personal(user=owner)
    services.contact_create(book=personal, fields=vcards.CardFields(full_name="Paula Personal"))
    body = list_page(client)
    assert "Paula Personal" in body
    assert "Tina Team" not in body
    body = list_page(client, book=team_book.pk)
    assert "Tina Team" in body
    assert "Paula Personal" not in body
    # /contacts/ opens the book chosen last.
    assert "Tina Team" in list_page(client)


def test_search_stays_in_the_chosen_book(owner: Any, team_book: AddressBook, team_contact: Contact) -> None:
    personal = services.book_ensure_personal(user=owner)
    services.contact_create(book=personal, fields=vcards.CardFields(full_name="Tina Personal"))
    client = client_for(owner)
    list_page(client, book=services.book_ensure_personal(user=owner).pk)  # remembers the personal book
    response = client.get(
        reverse("contacts:list"), {"q": "tina", "book": str(team_book.pk)}, headers={"X-Ruche-Partial": "results"}
    )
    body = response.content.decode()
    assert "Tina Team" in body
    assert "Tina Personal" not in body


def test_remembered_book_no_longer_reachable_falls_back_to_personal(
    owner: Any, colleague: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    grant(owner, team_book, colleague, ShareLevel.READ)
    client = client_for(colleague)
    assert "Tina Team" in list_page(client, book=team_book.pk)
    Share.objects.filter(grantee_user=colleague).delete()
    body = list_page(client)
    assert "Tina Team" not in body
    assert "<h1>Contacts</h1>" in body


def test_unknown_or_garbage_book_parameter_is_404(owner: Any) -> None:
    client = client_for(owner)
    assert client.get(reverse("contacts:list"), {"book": "999999"}).status_code == 404
    assert client.get(reverse("contacts:list"), {"book": "x'; drop"}).status_code == 404


def test_list_query_count_does_not_grow_with_books(
    owner: Any, colleague: Any, django_assert_max_num_queries: Any
) -> None:
    client = client_for(owner)
    list_page(client)
    for n in range(15):
        services.book_create(owner=owner, name=f"Book {n}")
        theirs = services.book_create(owner=colleague, name=f"Theirs {n}")
        grant(colleague, theirs, owner, ShareLevel.READ)
    with django_assert_max_num_queries(8):
        list_page(client)


# ---------------------------------------------------------------- create, rename, delete
def test_create_a_book_and_land_on_it(owner: Any) -> None:
    client = client_for(owner)
    response = client.post(reverse("contacts:book_new"), {"name": "  Suppliers ", "description": "Who sells us"})
    book = AddressBook.objects.get(owner=owner, name="Suppliers")
    assert response["Location"] == reverse("contacts:list") + f"?book={book.pk}"
    assert book.description == "Who sells us"
    assert not book.personal


def test_a_book_needs_a_name(owner: Any) -> None:
    response = client_for(owner).post(reverse("contacts:book_new"), {"name": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not AddressBook.objects.filter(owner=owner, personal=False).exists()


@pytest.mark.parametrize("data", [{"name": "x" * 5000}, {"name": "Ok", "description": "y" * 100_000}, {}])
def test_oversized_or_missing_book_fields_are_refused(owner: Any, data: dict[str, str]) -> None:
    response = client_for(owner).post(reverse("contacts:book_new"), data)
    assert response.status_code == 200
    assert 'class="form-error"' in response.content.decode()
    assert not AddressBook.objects.filter(owner=owner, personal=False).exists()


def test_rename_and_describe_a_book(owner: Any, team_book: AddressBook) -> None:
    client = client_for(owner)
    response = client.post(
        reverse("contacts:book_edit", args=[team_book.pk]), {"name": "Core team", "description": "New words"}
    )
    assert response.status_code == 302
    team_book.refresh_from_db()
    assert (team_book.name, team_book.description) == ("Core team", "New words")


def test_delete_a_book_asks_first_then_deletes_cards_and_shares(
    owner: Any, colleague: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    grant(owner, team_book, colleague, ShareLevel.READ)
    client = client_for(owner)
    url = reverse("contacts:book_delete", args=[team_book.pk])
    body = client.get(url).content.decode()
    assert "Delete “Team” and its 1 contact for good?" in body
    assert AddressBook.objects.filter(pk=team_book.pk).exists()
    assert client.post(url).status_code == 302
    assert not AddressBook.objects.filter(pk=team_book.pk).exists()
    assert not Contact.objects.filter(pk=team_contact.pk).exists()
    assert not Share.objects.filter(collection_id=team_book.pk).exists()


def test_the_personal_book_cannot_be_deleted(owner: Any) -> None:
    personal = services.book_ensure_personal(user=owner)
    client = client_for(owner)
    response = client.post(reverse("contacts:book_delete", args=[personal.pk]), follow=True)
    assert "Your personal address book cannot be deleted." in response.content.decode()
    assert AddressBook.objects.filter(pk=personal.pk).exists()
    assert reverse("contacts:book_delete", args=[personal.pk]) not in list_page(client, book=personal.pk)


# ---------------------------------------------------------------- new contact: which book
def test_new_contact_goes_to_the_chosen_writable_book(owner: Any, colleague: Any, team_book: AddressBook) -> None:
    theirs = services.book_create(owner=colleague, name="Read only for Olivia")
    grant(colleague, theirs, owner, ShareLevel.READ)
    client = client_for(owner)
    form = client.get(reverse("contacts:new"), {"book": team_book.pk}).content.decode()
    assert f'<option value="{team_book.pk}" selected>Team</option>' in form
    assert "Read only for Olivia" not in form  # only writable books are offered
    response = client.post(reverse("contacts:new"), {"book": team_book.pk, "full_name": "Nina New"})
    assert response.status_code == 302
    assert Contact.objects.get(full_name="Nina New").book == team_book


def test_new_contact_in_a_read_only_book_is_refused(owner: Any, colleague: Any) -> None:
    theirs = services.book_create(owner=colleague, name="Theirs")
    grant(colleague, theirs, owner, ShareLevel.READ)
    response = client_for(owner).post(reverse("contacts:new"), {"book": theirs.pk, "full_name": "Sneaky"})
    assert response.status_code == 200  # the form says the choice is not valid
    assert not Contact.objects.filter(full_name="Sneaky").exists()


def test_new_contact_in_a_shared_writable_book(owner: Any, colleague: Any) -> None:
    theirs = services.book_create(owner=colleague, name="Shared desk")
    grant(colleague, theirs, owner, ShareLevel.WRITE)
    response = client_for(owner).post(reverse("contacts:new"), {"book": theirs.pk, "full_name": "Desk Mate"})
    assert response.status_code == 302
    assert Contact.objects.get(full_name="Desk Mate").book == theirs


def test_deleting_a_contact_returns_to_its_book(owner: Any, team_contact: Contact) -> None:
    response = client_for(owner).post(reverse("contacts:delete", args=[team_contact.pk]))
    assert response["Location"] == reverse("contacts:list") + f"?book={team_contact.book_id}"


# ---------------------------------------------------------------- who reaches what
def every_url(book: AddressBook, contact: Contact) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) for every page of a book and its contact."""
    return [
        ("get", reverse("contacts:list") + f"?book={book.pk}", {}),
        ("get", reverse("contacts:new") + f"?book={book.pk}", {}),
        ("get", reverse("contacts:detail", args=[contact.pk]), {}),
        ("get", reverse("contacts:edit", args=[contact.pk]), {}),
        ("post", reverse("contacts:edit", args=[contact.pk]), {"full_name": "Changed"}),
        ("get", reverse("contacts:delete", args=[contact.pk]), {}),
        ("post", reverse("contacts:delete", args=[contact.pk]), {}),
        ("get", reverse("contacts:import", args=[book.pk]), {}),
        ("post", reverse("contacts:import", args=[book.pk]), {"file": SimpleUploadedFile("a.vcf", CARD.encode())}),
        ("get", reverse("contacts:export", args=[book.pk]), {}),
        ("get", reverse("contacts:book_share", args=[book.pk]), {}),
        ("post", reverse("contacts:book_share", args=[book.pk]), {"person": "oscar", "level": "3"}),
        ("get", reverse("contacts:book_edit", args=[book.pk]), {}),
        ("post", reverse("contacts:book_edit", args=[book.pk]), {"name": "Mine now"}),
        ("get", reverse("contacts:book_delete", args=[book.pk]), {}),
        ("post", reverse("contacts:book_delete", args=[book.pk]), {}),
        ("post", reverse("contacts:book_leave", args=[book.pk]), {}),
    ]


def assert_untouched(book: AddressBook, contact: Contact) -> None:
    book.refresh_from_db()
    contact.refresh_from_db()
    assert (book.name, contact.full_name) == ("Team", "Tina Team")
    assert book.contacts.count() == 1


def test_outsider_gets_404_on_every_url_of_another_persons_book(
    owner: Any, outsider: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    client = client_for(outsider)
    for method, url, data in every_url(team_book, team_contact):
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
    assert_untouched(team_book, team_contact)
    assert not Share.objects.exists()


def test_read_grantee_sees_but_every_change_is_404(
    owner: Any, colleague: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    grant(owner, team_book, colleague, ShareLevel.READ)
    client = client_for(colleague)
    body = list_page(client, book=team_book.pk)
    assert "Tina Team" in body
    assert "In “Team”, shared by Olivia Owner · read only" in body
    for control in ("New contact", "Import", reverse("contacts:book_share", args=[team_book.pk]), "Rename"):
        assert control not in body
    assert reverse("contacts:export", args=[team_book.pk]) in body
    detail = client.get(reverse("contacts:detail", args=[team_contact.pk]))
    assert detail.status_code == 200
    assert reverse("contacts:edit", args=[team_contact.pk]) not in detail.content.decode()
    assert client.get(reverse("contacts:export", args=[team_book.pk])).status_code == 200
    allowed = {reverse("contacts:list"), reverse("contacts:detail", args=[team_contact.pk])}
    for method, url, data in every_url(team_book, team_contact):
        if (
            url.split("?")[0] in allowed
            or url.endswith("export.vcf")
            or "leave" in url
            or url.startswith(reverse("contacts:new"))
        ):
            continue
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
    assert_untouched(team_book, team_contact)


def test_write_grantee_edits_cards_but_cannot_share_rename_or_delete_the_book(
    owner: Any, colleague: Any, outsider: Any, team_book: AddressBook, team_contact: Contact
) -> None:
    grant(owner, team_book, colleague, ShareLevel.WRITE)
    client = client_for(colleague)
    body = list_page(client, book=team_book.pk)
    assert "New contact" in body
    assert reverse("contacts:import", args=[team_book.pk]) in body
    assert reverse("contacts:book_share", args=[team_book.pk]) not in body
    assert reverse("contacts:book_delete", args=[team_book.pk]) not in body
    response = client.post(reverse("contacts:edit", args=[team_contact.pk]), {"full_name": "Tina Edited"})
    assert response.status_code == 302
    team_contact.refresh_from_db()
    assert team_contact.full_name == "Tina Edited"
    upload = SimpleUploadedFile("a.vcf", CARD.encode())
    assert client.post(reverse("contacts:import", args=[team_book.pk]), {"file": upload}).status_code == 200
    assert team_book.contacts.filter(full_name="Imported Person").exists()
    for name, data in (
        ("contacts:book_share", {"person": "oscar", "level": "1"}),
        ("contacts:book_edit", {"name": "Renamed"}),
        ("contacts:book_delete", {}),
    ):
        assert client.get(reverse(name, args=[team_book.pk])).status_code == 404
        assert client.post(reverse(name, args=[team_book.pk]), data).status_code == 404
    team_book.refresh_from_db()
    assert team_book.name == "Team"
    assert not Share.objects.filter(grantee_user=outsider).exists()


def test_manage_grantee_renames_and_shares_but_does_not_delete(
    owner: Any, colleague: Any, outsider: Any, team_book: AddressBook
) -> None:
    grant(owner, team_book, colleague, ShareLevel.MANAGE)
    client = client_for(colleague)
    body = list_page(client, book=team_book.pk)
    assert reverse("contacts:book_share", args=[team_book.pk]) in body
    assert reverse("contacts:book_delete", args=[team_book.pk]) not in body
    assert client.post(reverse("contacts:book_edit", args=[team_book.pk]), {"name": "Team B"}).status_code == 302
    response = client.post(reverse("contacts:book_share", args=[team_book.pk]), {"person": "oscar", "level": "1"})
    assert response.status_code == 302
    assert Share.objects.get(grantee_user=outsider).level == ShareLevel.READ
    assert client.post(reverse("contacts:book_delete", args=[team_book.pk])).status_code == 404
    assert AddressBook.objects.filter(pk=team_book.pk).exists()


def test_import_of_a_real_card_into_another_book_keeps_the_personal_one_apart(owner: Any) -> None:
    client = client_for(owner)
    client.post(reverse("contacts:book_new"), {"name": "Imports"})
    book = AddressBook.objects.get(owner=owner, name="Imports")
    upload = SimpleUploadedFile("a.vcf", CARD_30.encode())
    client.post(reverse("contacts:import", args=[book.pk]), {"file": upload})
    assert book.contacts.get().full_name == "Jeanne Martin"
    assert not services.book_ensure_personal(user=owner).contacts.exists()
