"""Sign-in through allauth: one answer for every wrong credential, rate limits, sign-out."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

LOGIN = reverse("account_login")


def _attempt(login: str, password: str) -> tuple[int, str]:
    response = Client().post(LOGIN, {"login": login, "password": password})
    html = response.content.decode()
    # The CSRF token and the echoed login differ between attempts by design; the rest must not.
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    html = html.replace(f'value="{login}"', 'value=""')
    return response.status_code, html


def test_login_page_shows_the_form_with_labels_and_no_inline_script(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_login">' in html
    assert '<label for="id_password">' in html
    assert "<script>" not in html
    assert " style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_owner_signs_in_with_username_and_reaches_the_shell(owner, password):
    client = Client()
    response = client.post(LOGIN, {"login": "olivia", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("core:home")
    assert response.context["user"] == owner


def test_the_shell_links_to_the_users_pages_and_the_sign_in_page_to_the_manifest(owner, password):
    assert f'<link rel="manifest" href="{reverse("core:manifest")}">' in Client().get(LOGIN).content.decode()
    client = Client()
    client.post(LOGIN, {"login": "olivia", "password": password})
    html = client.get(reverse("core:home")).content.decode()
    for name in ("core:manifest", "accounts:profile", "account_change_password", "mfa_index", "account_logout"):
        assert f'"{reverse(name)}"' in html, name
    assert f'action="{reverse("chat:presence_status")}"' in html
    assert reverse("admin:index") not in html  # not staff


def test_owner_signs_in_with_email(owner, password):
    client = Client()
    response = client.post(LOGIN, {"login": owner.email, "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_unknown_user_and_wrong_password_get_the_same_answer(owner):
    unknown = _attempt("nobody-here", "some password 123")
    wrong = _attempt("olivia", "some password 123")
    assert unknown[0] == wrong[0] == 200
    assert "The username and/or password you specified are not correct." in wrong[1]
    assert unknown[1] == wrong[1]


def test_unknown_email_and_wrong_password_by_email_get_the_same_answer(owner):
    unknown = _attempt("nobody@example.test", "some password 123")
    wrong = _attempt(owner.email, "some password 123")
    assert unknown[0] == wrong[0] == 200
    assert "The email address and/or password you specified are not correct." in wrong[1]
    assert unknown[1] == wrong[1]


@override_settings(ACCOUNT_RATE_LIMITS={**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,3/5m/key"})
def test_repeated_failures_are_refused_and_even_the_right_password_waits(owner, password):
    client = Client()
    for _ in range(3):
        response = client.post(LOGIN, {"login": "olivia", "password": "wrong password 1"})
        assert "not correct" in response.content.decode()
    refused = client.post(LOGIN, {"login": "olivia", "password": "wrong password 1"})
    assert "Too many failed login attempts. Try again later." in refused.content.decode()
    right = client.post(LOGIN, {"login": "olivia", "password": password})
    assert right.status_code == 200
    assert "Too many failed login attempts. Try again later." in right.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(ACCOUNT_RATE_LIMITS={**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,3/5m/key"})
def test_once_the_window_has_passed_the_right_password_works_again(owner, password):
    from tests.accounts.conftest import clear_cache_entries

    client = Client()
    for _ in range(4):
        client.post(LOGIN, {"login": "olivia", "password": "wrong password 1"})
    clear_cache_entries()  # what the expiry of the window does
    assert client.post(LOGIN, {"login": "olivia", "password": password}).status_code == 302


@override_settings(ACCOUNT_RATE_LIMITS={**settings.ACCOUNT_RATE_LIMITS, "login_failed": "2/m/ip,100/5m/key"})
def test_failures_from_one_address_are_limited_across_accounts(owner, colleague):
    client = Client()
    for login in ("olivia", "colin"):
        client.post(LOGIN, {"login": login, "password": "wrong password 1"})
    refused = client.post(LOGIN, {"login": "someone-else", "password": "wrong password 1"})
    assert "Too many failed login attempts" in refused.content.decode()


def test_sign_out_is_a_post_and_ends_the_session(owner_client):
    assert owner_client.get(reverse("core:home")).status_code == 200
    page = owner_client.get(reverse("account_logout"))
    assert page.status_code == 200  # a GET only asks for confirmation
    assert owner_client.get(reverse("core:home")).status_code == 200
    response = owner_client.post(reverse("account_logout"))
    assert response.status_code == 302
    after = owner_client.get(reverse("core:home"))
    assert after.status_code == 302
    assert after["Location"].startswith(LOGIN)
