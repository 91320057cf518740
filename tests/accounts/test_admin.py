"""The Django admin at /admin/: staff only, users searchable and filterable."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    admin: Any = UserFactory(username="adele", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


def test_staff_reaches_the_admin(staff_client):
    assert staff_client.get("/admin/").status_code == 200


def test_non_staff_user_is_sent_to_the_admin_login(owner_client):
    response = owner_client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert owner_client.get(reverse("admin:accounts_user_changelist")).status_code == 302


def test_users_are_found_by_display_name_and_filtered_by_language(staff_client, owner, colleague):
    owner.language = "fr"
    owner.save()
    found = staff_client.get(reverse("admin:accounts_user_changelist"), {"q": "Colleague"})
    assert found.status_code == 200
    assert list(found.context["cl"].result_list) == [colleague]
    french = staff_client.get(reverse("admin:accounts_user_changelist"), {"language__exact": "fr"})
    assert list(french.context["cl"].result_list) == [owner]


def test_user_list_shows_who_has_two_factor(staff_client, owner, colleague):
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    response = staff_client.get(reverse("admin:accounts_user_changelist"))
    rows = {u.username: u._has_mfa for u in response.context["cl"].result_list}
    assert rows["olivia"] is True
    assert rows["colin"] is False


def test_user_change_page_shows_profile_fields_and_second_factors(staff_client, owner):
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    html = staff_client.get(reverse("admin:accounts_user_change", args=[owner.pk])).content.decode()
    assert 'name="display_name"' in html
    assert 'name="time_zone"' in html
    assert "Second factors (delete one to reset a lost device)" in html
    assert 'name="authenticator_set-0-DELETE"' in html  # an admin can remove a lost device


def test_authenticators_are_searchable_by_user(staff_client, owner, colleague):
    Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": "x"})
    Authenticator.objects.create(user=colleague, type=Authenticator.Type.TOTP, data={"secret": "y"})
    response = staff_client.get(reverse("admin:mfa_authenticator_changelist"), {"q": "olivia"})
    assert [a.user.username for a in response.context["cl"].result_list] == ["olivia"]


def test_staff_sees_app_passwords_without_their_secret_and_the_shares(staff_client, owner, colleague):
    from apps.accounts.app_passwords import app_password_create
    from apps.core.models import ShareLevel
    from apps.core.sharing import CollectionRef, share_grant

    created = app_password_create(user=owner, name="Phone DAVx5")
    stored = owner.app_passwords.get()
    listing = staff_client.get(reverse("admin:accounts_apppassword_changelist"))
    assert listing.status_code == 200
    assert b"Phone DAVx5" in listing.content
    page = staff_client.get(reverse("admin:accounts_apppassword_change", args=[stored.pk]))
    assert page.status_code == 200
    assert stored.secret_hash.encode() not in page.content
    assert created.secret.encode() not in page.content
    assert staff_client.get(reverse("admin:accounts_apppassword_add")).status_code == 403
    share_grant(
        actor=owner,
        collection=CollectionRef(kind="contacts.addressbook", id=7),
        owner_id=owner.pk,
        level=ShareLevel.WRITE,
        grantee_user=colleague,
    )
    shares = staff_client.get(reverse("admin:core_share_changelist"))
    assert shares.status_code == 200
    assert b"contacts.addressbook" in shares.content
