"""Password change, and the reset form's one answer for known and unknown addresses.

(Sending the reset mail through SMTP is tested with the real mail stack elsewhere.)
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

NEW_PASSWORD = "a brand new passphrase"


def _signed_in_with_password(user, password) -> Client:
    client = Client()
    assert client.post(reverse("account_login"), {"login": user.username, "password": password}).status_code == 302
    return client


def test_owner_changes_password_and_signs_in_with_the_new_one(owner, password):
    client = _signed_in_with_password(owner, password)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert client.get(reverse("core:home")).status_code == 200  # still signed in here
    assert _signed_in_with_password(owner, NEW_PASSWORD)


def test_password_change_refuses_a_wrong_current_password(owner, password):
    client = _signed_in_with_password(owner, password)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not my password", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Please type your current password." in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(password)


def test_password_change_page_needs_a_signed_in_user():
    response = Client().get(reverse("account_change_password"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_reset_gives_the_same_answer_for_a_known_and_an_unknown_address(owner):
    reset = reverse("account_reset_password")
    known = Client().post(reset, {"email": owner.email})
    unknown = Client().post(reset, {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    done = Client().get(known["Location"])
    assert "If an account uses this address" in done.content.decode()
    # Each address gets a mail (the unknown one is told no account uses it), so even
    # the outbox's size does not reveal which address is known.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, "nobody@example.test"])


def test_reset_page_is_a_card_with_a_labelled_email_field(client):
    html = client.get(reverse("account_reset_password")).content.decode()
    assert 'class="auth-card"' in html
    assert '<label for="id_email">' in html
    assert get_user_model().objects.count() == 0


def test_the_reset_link_leads_to_a_new_password_that_works(owner, password):
    client = Client()
    client.post(reverse("account_reset_password"), {"email": owner.email})
    link = next(word for word in mail.outbox[0].body.split() if "/accounts/password/reset/key/" in word)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}, follow=True)
    assert "Your password is changed." in done.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert "This link no longer works" in Client().get(link, follow=True).content.decode()


@override_settings(ACCOUNT_RATE_LIMITS={**settings.ACCOUNT_RATE_LIMITS, "reset_password": "2/m/ip"})
def test_too_many_reset_requests_get_a_clear_refusal_page(owner):
    client = Client()
    for _ in range(2):
        client.post(reverse("account_reset_password"), {"email": owner.email})
    refused = client.post(reverse("account_reset_password"), {"email": owner.email})
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert 'class="auth-card"' in refused.content.decode()
