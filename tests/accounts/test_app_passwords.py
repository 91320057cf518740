"""App passwords: created, listed and revoked on the profile page; the DAV sign-in rule."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.accounts.app_passwords import (
    app_password_check,
    app_password_create,
    app_password_for_user,
    dav_basic_authenticate,
)
from apps.accounts.models import AppPassword

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

PROFILE = reverse("accounts:profile")
ADD = reverse("accounts:app_password_add")
TEMPLATE_STRING = re.compile(r'{% (?:translate "([^"]+)"|blocktranslate[^%]*%}(.+?){% endblocktranslate)')
SECRET_SHOWN = re.compile(r'data-testid="new-app-password">([a-z2-9-]+)<')


def revoke_url(app_password: AppPassword) -> str:
    return reverse("accounts:app_password_revoke", args=[app_password.pk])


def with_mfa(user: Any) -> Any:
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


# ---------------------------------------------------------------- the profile page
def test_creating_shows_the_secret_once_and_stores_only_a_hash(owner_client: Client, owner: Any) -> None:
    response = owner_client.post(ADD, {"name": "Phone contacts"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    match = SECRET_SHOWN.search(html)
    assert match is not None
    secret = match.group(1)
    assert re.fullmatch(r"[a-z2-9]{4}(-[a-z2-9]{4}){5}", secret)
    stored = AppPassword.objects.get(user=owner)
    assert stored.name == "Phone contacts"
    assert secret.replace("-", "") not in stored.secret_hash
    # The next visit lists it by name, without the secret.
    page = owner_client.get(PROFILE).content.decode()
    assert "Phone contacts" in page
    assert "never used" in page
    assert secret not in page
    assert SECRET_SHOWN.search(page) is None
    assert app_password_check("olivia", secret) == owner


def test_a_blank_name_is_refused_in_plain_words(owner_client: Client) -> None:
    response = owner_client.post(ADD, {"name": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not AppPassword.objects.exists()


def test_a_name_too_long_is_refused(owner: Any, owner_client: Client) -> None:
    response = owner_client.post(ADD, {"name": "x" * 101})
    assert response.status_code == 400
    assert not AppPassword.objects.exists()
    with pytest.raises(ValidationError):
        app_password_create(user=owner, name="y" * 101)


def test_a_name_is_shown_escaped(owner_client: Client) -> None:
    owner_client.post(ADD, {"name": "<script>alert(1)</script>"})
    page = owner_client.get(PROFILE).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_list_shows_last_use(owner_client: Client, owner: Any) -> None:
    created = app_password_create(user=owner, name="Laptop")
    assert app_password_check("olivia", created.secret) == owner
    page = owner_client.get(PROFILE).content.decode()
    assert "Laptop" in page
    assert "last used" in page
    assert "never used" not in page


def test_revoking_from_the_profile_stops_the_password(owner_client: Client, owner: Any) -> None:
    created = app_password_create(user=owner, name="Old phone")
    kept = app_password_create(user=owner, name="Tablet")
    response = owner_client.post(revoke_url(created.app_password))
    assert response.status_code == 302
    assert response["Location"].endswith("#app-passwords")
    page = owner_client.get(PROFILE).content.decode()
    assert "The app password “Old phone” is revoked." in page
    assert "Tablet" in page
    assert app_password_check("olivia", created.secret) is None
    assert dav_basic_authenticate("olivia", created.secret) is None
    assert app_password_check("olivia", kept.secret) == owner


def test_revoking_needs_a_post(owner_client: Client, owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    assert owner_client.get(revoke_url(created.app_password)).status_code == 405
    assert AppPassword.objects.filter(pk=created.app_password.pk).exists()


def test_outsider_cannot_revoke_or_see_another_persons_app_password(owner: Any, outsider: Any) -> None:
    created = app_password_create(user=owner, name="Owner's phone")
    client = Client()
    client.force_login(outsider)
    assert client.post(revoke_url(created.app_password)).status_code == 404
    assert "Owner&#x27;s phone" not in client.get(PROFILE).content.decode()
    assert AppPassword.objects.filter(pk=created.app_password.pk).exists()
    with pytest.raises(Http404):
        app_password_for_user(user=outsider, app_password_id=created.app_password.pk)
    # …and the owner's secret does not sign the outsider in.
    assert app_password_check("oscar", created.secret) is None
    assert dav_basic_authenticate("oscar", created.secret) is None


def test_signed_out_visitors_cannot_create_or_revoke(owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    anonymous = Client()
    assert anonymous.post(ADD, {"name": "x"}).status_code == 302
    assert anonymous.post(revoke_url(created.app_password)).status_code == 302
    assert AppPassword.objects.count() == 1
    with pytest.raises(Http404):
        app_password_for_user(user=AnonymousUser(), app_password_id=created.app_password.pk)  # type: ignore[arg-type]


def test_creating_needs_the_csrf_token(owner: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(ADD, {"name": "Phone"}).status_code == 403
    assert not AppPassword.objects.exists()


def test_every_string_of_the_section_has_a_french_translation() -> None:
    # Asked of the compiled catalogue the page uses, so a string the .po holds but the .mo lacks
    # (not compiled, or marked fuzzy) counts as missing.
    section = (settings.BASE_DIR / "apps/accounts/templates/accounts/_app_passwords.html").read_text()
    wanted = {re.sub(r"{{ *(\w+) *}}", r"%(\1)s", a or b) for a, b in TEMPLATE_STRING.findall(section)}
    assert len(wanted) >= 10
    with translation.override("fr"):
        missing = {msgid for msgid in wanted if translation.gettext(msgid) == msgid}
    assert missing == set()


# ---------------------------------------------------------------- checking a secret
def test_the_secret_is_accepted_without_dashes_or_in_capitals(owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    assert app_password_check("olivia", created.secret.replace("-", "")) == owner
    assert app_password_check("olivia", created.secret.upper()) == owner
    assert app_password_check("olivia", created.secret.replace("-", " ")) == owner


def test_a_wrong_or_malformed_secret_is_refused(owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    last = created.secret[-1]
    wrong = created.secret[:-1] + ("a" if last != "a" else "b")
    for attempt in (wrong, "", created.secret[:-1], created.secret + "a", "x" * 10_000, "\x00" * 24):
        assert app_password_check("olivia", attempt) is None
    assert app_password_check("nobody", created.secret) is None
    assert app_password_check("olivia\x00", created.secret) is None
    assert dav_basic_authenticate("olivia\x00", created.secret) is None
    assert dav_basic_authenticate("", "") is None


def test_last_use_is_stamped(owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    assert created.app_password.last_used_at is None
    app_password_check("olivia", created.secret)
    created.app_password.refresh_from_db()
    assert created.app_password.last_used_at is not None


def test_an_inactive_users_app_password_is_refused(owner: Any) -> None:
    created = app_password_create(user=owner, name="Phone")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    assert app_password_check("olivia", created.secret) is None
    assert dav_basic_authenticate("olivia", created.secret) is None


# ---------------------------------------------------------------- the DAV rule
def test_without_mfa_the_account_password_or_an_app_password_works(owner: Any, password: str) -> None:
    created = app_password_create(user=owner, name="Phone")
    assert dav_basic_authenticate("olivia", password) == owner
    assert dav_basic_authenticate("olivia", created.secret) == owner
    assert dav_basic_authenticate("olivia", "wrong password") is None
    assert dav_basic_authenticate("nobody", password) is None


def test_with_mfa_only_an_app_password_works(owner: Any, password: str) -> None:
    with_mfa(owner)
    assert dav_basic_authenticate("olivia", password) is None
    created = app_password_create(user=owner, name="Phone")
    assert dav_basic_authenticate("olivia", created.secret) == owner
    assert dav_basic_authenticate("olivia", password) is None


def test_recovery_codes_alone_do_not_count_as_mfa(owner: Any, password: str) -> None:
    Authenticator.objects.create(user=owner, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x"})
    assert dav_basic_authenticate("olivia", password) == owner


def test_one_persons_mfa_does_not_change_anothers_rule(owner: Any, colleague: Any, password: str) -> None:
    with_mfa(owner)
    assert dav_basic_authenticate("colin", password) == colleague
    assert dav_basic_authenticate("olivia", password) is None


# ---------------------------------------------------------------- in Chromium
@pytest.mark.browser
def test_create_and_revoke_with_the_keyboard_at_360_px(new_context: Any, owner: Any, password: str, axe: Any) -> None:
    from playwright.sync_api import expect

    from tests.accounts.browser import sign_in

    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/accounts/profile/#app-passwords")
    expect(page.get_by_text("No app password yet.")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("Phone contacts")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the focused "Create an app password" button
    secret = page.get_by_test_id("new-app-password")
    expect(secret).to_be_visible()
    assert app_password_check("olivia", secret.inner_text()) == owner
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert axe(page) == []
    page.get_by_role("button", name="Revoke the app password “Phone contacts”").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The app password “Phone contacts” is revoked.")).to_be_visible()
    expect(page.get_by_text("No app password yet.")).to_be_visible()
    assert not AppPassword.objects.exists()
