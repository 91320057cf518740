"""Signing in to Ruche with IMAP credentials, through allauth's login form and the real Dovecot."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from imapclient.exceptions import LoginError

from apps.core.crypto import decrypt_secret
from apps.mail.models import MailAccount, SyncStatus
from tests.accounts.conftest import clear_cache_entries
from tests.mailstack import MailStack, MailUser

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

LOGIN = reverse("account_login")
BACKEND = "apps.mail.backends.ImapLoginBackend"
User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    clear_cache_entries()
    yield
    clear_cache_entries()


@pytest.fixture
def imap_login(settings, mailstack: MailStack) -> MailStack:
    """IMAP sign-in on for the mail stack's domain, as the settings do when the variable is set."""
    settings.RUCHE_IMAP_LOGIN_DOMAINS = [mailstack.domain]
    settings.RUCHE_IMAP_LOGIN_HOST = mailstack.host
    settings.RUCHE_IMAP_LOGIN_PORT = mailstack.ports.imap
    settings.RUCHE_IMAP_LOGIN_SECURITY = "none"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    settings.RUCHE_MAIL_DEFAULTS = {
        **settings.RUCHE_MAIL_DEFAULTS,
        "smtp_host": mailstack.host,
        "smtp_port": mailstack.ports.submission,
        "smtp_security": "none",
        "sieve_port": mailstack.ports.sieve,
    }
    return mailstack


def _change_password(stack: MailStack, user: MailUser, new: str) -> None:
    """Changes the password in Dovecot's passwd-file, then waits until Dovecot accepts it.

    Dovecot rereads the file when its mtime changes, checking at most once per second.
    """
    text = stack.users_file.read_text()
    stack.users_file.write_text(
        text.replace(f"{user.address}:{{PLAIN}}{user.password}:", f"{user.address}:{{PLAIN}}{new}:")
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            stack.imap(MailUser(user.address, new)).logout()
            return
        except LoginError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _page_without(response, login: str) -> str:
    """The answer page, less what differs by design (CSRF token, the echoed login)."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return html.replace(f'value="{login}"', 'value=""')


def test_the_backend_is_off_by_default(settings) -> None:
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS
    assert settings.RUCHE_IMAP_LOGIN_DOMAINS == []


def test_a_fresh_mail_user_signs_in_and_gets_a_ruche_user_and_a_mail_account(imap_login, mail_user) -> None:
    client = Client()

    response = client.post(LOGIN, {"login": mail_user.address, "password": mail_user.password})

    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username=mail_user.address)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert user.email == mail_user.address
    assert not user.has_usable_password()
    assert EmailAddress.objects.filter(user=user, email=mail_user.address, verified=True, primary=True).exists()
    account = MailAccount.objects.get(owner=user)
    assert account.email_address == mail_user.address
    assert account.imap_host == imap_login.host
    assert account.imap_port == imap_login.ports.imap
    assert account.imap_password != mail_user.password
    assert decrypt_secret(account.imap_password) == mail_user.password
    assert account.sync_status == SyncStatus.OK


def test_signing_in_again_reuses_the_user_and_follows_a_password_change(imap_login, make_mail_user) -> None:
    first = make_mail_user()
    Client().post(LOGIN, {"login": first.address, "password": first.password})
    _change_password(imap_login, first, "a-brand-new-password")

    response = Client().post(LOGIN, {"login": first.address, "password": "a-brand-new-password"})

    assert response.status_code == 302
    assert User.objects.filter(username=first.address).count() == 1
    account = MailAccount.objects.get(owner__username=first.address)
    assert decrypt_secret(account.imap_password) == "a-brand-new-password"


def test_an_existing_user_with_that_email_is_the_one_signed_in(imap_login, mail_user) -> None:
    person = User.objects.create_user(username="olivia", email=mail_user.address, password="local-Pass-123")
    client = Client()

    client.post(LOGIN, {"login": mail_user.address, "password": mail_user.password})

    assert client.session["_auth_user_id"] == str(person.pk)
    assert MailAccount.objects.filter(owner=person, email_address=mail_user.address).exists()


def test_a_wrong_imap_password_is_refused_like_any_wrong_password(imap_login, mail_user, owner) -> None:
    imap_wrong = Client().post(LOGIN, {"login": mail_user.address, "password": "not-my-password"})
    local_wrong = Client().post(LOGIN, {"login": owner.email, "password": "not-my-password"})

    assert imap_wrong.status_code == local_wrong.status_code == 200
    assert "The email address and/or password you specified are not correct." in imap_wrong.content.decode()
    assert _page_without(imap_wrong, mail_user.address) == _page_without(local_wrong, owner.email)
    assert not User.objects.filter(username=mail_user.address).exists()


def test_an_address_of_a_domain_not_listed_is_not_tried(imap_login, settings, mail_user) -> None:
    settings.RUCHE_IMAP_LOGIN_DOMAINS = ["other.example"]

    response = Client().post(LOGIN, {"login": mail_user.address, "password": mail_user.password})

    # The password is right for Dovecot: only not asking explains the refusal.
    assert response.status_code == 200
    assert not User.objects.filter(username=mail_user.address).exists()
    assert not MailAccount.objects.exists()


def test_rate_limits_apply_before_the_mail_server_is_asked(imap_login, settings, mail_user) -> None:
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip,2/5m/key"}
    client = Client()
    for _ in range(2):
        client.post(LOGIN, {"login": mail_user.address, "password": "wrong password 1"})

    refused = client.post(LOGIN, {"login": mail_user.address, "password": mail_user.password})

    assert "Too many failed login attempts" in refused.content.decode()
    assert not User.objects.filter(username=mail_user.address).exists()


def test_an_unreachable_mail_server_refuses_the_login_quietly(imap_login, settings, mail_user) -> None:
    settings.RUCHE_IMAP_LOGIN_HOST = "imap.nowhere.invalid"

    response = Client().post(LOGIN, {"login": mail_user.address, "password": mail_user.password})

    assert response.status_code == 200
    assert "not correct" in response.content.decode()
