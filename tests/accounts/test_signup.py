"""Sign-up is closed unless RUCHE_SIGNUP_OPEN says otherwise."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

SIGNUP = reverse("account_signup")
NEW_ACCOUNT = {
    "email": "newcomer@example.test",
    "username": "newcomer",
    "password1": "a long enough passphrase",
    "password2": "a long enough passphrase",
}


def test_signup_is_closed_by_default_and_says_so():
    client = Client()
    page = client.get(SIGNUP)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Sign-up is closed" in html
    assert "<form" not in html.split("<main", 1)[1]
    assert "Create an account" not in client.get(reverse("account_login")).content.decode()


def test_a_closed_signup_creates_nobody_even_when_posted_to():
    Client().post(SIGNUP, NEW_ACCOUNT)
    assert not get_user_model().objects.filter(username="newcomer").exists()


@override_settings(RUCHE_SIGNUP_OPEN=True)
def test_an_open_signup_shows_the_form_and_creates_the_account():
    client = Client()
    login_page = client.get(reverse("account_login")).content.decode()
    assert "Create an account" in login_page
    page = client.get(SIGNUP).content.decode()
    assert '<label for="id_username">' in page
    response = client.post(SIGNUP, NEW_ACCOUNT)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert user.email == "newcomer@example.test"
    assert client.session["_auth_user_id"] == str(user.pk)
