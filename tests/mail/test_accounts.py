"""Mail accounts: personal, with passwords that never come back out in clear."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import Client

from apps.accounts.models import User
from apps.core.crypto import decrypt_secret
from apps.mail.access import mail_account_for_user
from apps.mail.models import MailAccount, Security
from apps.mail.selectors import mail_accounts_for_user
from apps.mail.services import mail_account_create, mail_account_set_password

pytestmark = pytest.mark.django_db

PASSWORD = "imap-secret-Ω-42"


@pytest.fixture
def account(owner) -> MailAccount:
    return mail_account_create(
        owner=owner,
        email_address="olivia@example.test",
        imap_host="imap.example.test",
        imap_password=PASSWORD,
        label="Work",
    )


def test_a_new_account_takes_the_configured_defaults(owner, settings) -> None:
    settings.RUCHE_MAIL_DEFAULTS = {
        **settings.RUCHE_MAIL_DEFAULTS,
        "imap_host": "mail.example.test",
        "imap_port": 993,
        "imap_security": "tls",
    }

    account = mail_account_create(owner=owner, email_address="olivia@example.test", imap_password="x")

    assert account.imap_host == "mail.example.test"
    assert account.imap_security == Security.TLS
    assert account.imap_username == "olivia@example.test"
    assert account.smtp_host == "mail.example.test"
    assert account.smtp_login == "olivia@example.test"
    assert account.display_name == owner.shown_name


def test_owner_gets_their_account(owner, account) -> None:
    assert mail_account_for_user(user=owner, account_id=account.pk) == account
    assert mail_account_for_user(user=owner, account_id=account.pk, write=True) == account


def test_outsider_cannot_get_someone_elses_account(outsider, account) -> None:
    with pytest.raises(Http404):
        mail_account_for_user(user=outsider, account_id=account.pk)
    with pytest.raises(Http404):
        mail_account_for_user(user=outsider, account_id=account.pk, write=True)


def test_anonymous_visitor_cannot_get_an_account(account) -> None:
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(Http404):
        mail_account_for_user(user=AnonymousUser(), account_id=account.pk)


def test_each_user_lists_only_their_own_accounts(owner, colleague, account) -> None:
    mail_account_create(owner=colleague, email_address="colin@example.test", imap_host="h", imap_password="x")

    assert list(mail_accounts_for_user(user=owner)) == [account]
    assert [a.email_address for a in mail_accounts_for_user(user=colleague)] == ["colin@example.test"]


def test_the_password_never_appears_in_str_or_repr(account) -> None:
    assert PASSWORD not in str(account)
    assert PASSWORD not in repr(account)
    assert account.imap_password != PASSWORD


def test_setting_a_new_password_encrypts_it(account) -> None:
    mail_account_set_password(account=account, imap_password="new-one", smtp_password="smtp-one")
    account.refresh_from_db()

    assert decrypt_secret(account.imap_password) == "new-one"
    assert decrypt_secret(account.smtp_password) == "smtp-one"

    mail_account_set_password(account=account, smtp_password="")
    account.refresh_from_db()
    assert not account.has_smtp_password
    assert decrypt_secret(account.imap_password) == "new-one"


@pytest.fixture
def admin_client(db) -> Client:
    admin = User.objects.create_superuser(username="root-admin", email="root@example.test", password="x-Pass-1234")
    client = Client()
    client.force_login(admin)
    return client


def test_admin_shows_whether_a_password_is_set_but_never_the_password(admin_client, account) -> None:
    page = admin_client.get(f"/admin/mail/mailaccount/{account.pk}/change/")
    html = page.content.decode()

    assert page.status_code == 200
    assert PASSWORD not in html
    assert account.imap_password not in html  # not even the ciphertext
    assert "not set (the IMAP password is used)" in html


def test_admin_list_can_be_searched_and_filtered(admin_client, account) -> None:
    page = admin_client.get("/admin/mail/mailaccount/", {"q": "olivia", "sync_status__exact": "new"})

    assert page.status_code == 200
    assert "olivia@example.test" in page.content.decode()


def test_admin_creates_an_account_with_an_encrypted_password(admin_client, owner) -> None:
    response = admin_client.post(
        "/admin/mail/mailaccount/add/",
        {
            "owner": owner.pk,
            "label": "Home",
            "email_address": "olivia@home.example.test",
            "display_name": "Olivia",
            "imap_host": "imap.home.example.test",
            "imap_port": 993,
            "imap_security": "tls",
            "imap_username": "olivia",
            "new_imap_password": "typed-in-admin",
            "smtp_host": "smtp.home.example.test",
            "smtp_port": 587,
            "smtp_security": "starttls",
            "smtp_username": "",
            "new_smtp_password": "",
            "sieve_port": 4190,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    account = MailAccount.objects.get(email_address="olivia@home.example.test")
    assert account.imap_password != "typed-in-admin"
    assert decrypt_secret(account.imap_password) == "typed-in-admin"
    assert not account.has_smtp_password


def test_admin_refuses_a_new_account_without_password(admin_client, owner) -> None:
    response = admin_client.post(
        "/admin/mail/mailaccount/add/",
        {
            "owner": owner.pk,
            "email_address": "olivia@home.example.test",
            "imap_host": "imap.home.example.test",
            "imap_port": 993,
            "imap_security": "tls",
            "imap_username": "olivia",
            "smtp_port": 587,
            "smtp_security": "starttls",
        },
    )

    assert response.status_code == 200
    assert not MailAccount.objects.exists()
