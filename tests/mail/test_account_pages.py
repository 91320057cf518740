"""Mail account pages: adding in two steps against the real Dovecot, settings, test, removal."""

from __future__ import annotations

import socket

import pytest
from django.test import Client
from django.urls import reverse

from apps.core.crypto import decrypt_secret
from apps.mail.models import MailAccount, SyncStatus
from apps.mail.services import mail_account_create
from tests.mailstack import MailStack, MailUser

pytestmark = pytest.mark.django_db

SECRET = "stored-secret-Ω-42"


@pytest.fixture
def organisation(settings, mailstack: MailStack):
    """The mail stack's domain is the organisation's: its servers are the instance defaults."""
    settings.RUCHE_MAIL_DOMAINS = [mailstack.domain]
    settings.RUCHE_MAIL_DEFAULTS = {
        "imap_host": mailstack.host,
        "imap_port": mailstack.ports.imap,
        "imap_security": "none",
        "smtp_host": mailstack.host,
        "smtp_port": mailstack.ports.submission,
        "smtp_security": "none",
        "sieve_port": mailstack.ports.sieve,
    }
    return mailstack


@pytest.fixture
def account(owner) -> MailAccount:
    return mail_account_create(
        owner=owner,
        email_address="olivia@example.org",
        imap_host="imap.example.invalid",  # never resolves: the tests that reach it fail fast
        imap_password=SECRET,
        smtp_password="smtp-" + SECRET,
        label="Work",
    )


def settings_post(stack: MailStack, user: MailUser, **changes) -> dict[str, object]:
    data: dict[str, object] = {
        "step": "settings",
        "label": "",
        "display_name": "Olivia",
        "imap_host": stack.host,
        "imap_port": stack.ports.imap,
        "imap_security": "none",
        "imap_username": user.address,
        "imap_password": "",
        "smtp_host": stack.host,
        "smtp_port": stack.ports.submission,
        "smtp_security": "none",
        "smtp_username": "",
        "smtp_password": "",
        "sieve_port": stack.ports.sieve,
    }
    data.update(changes)
    return data


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- list
def test_the_list_says_what_to_do_when_there_is_no_account(owner_client) -> None:
    page = owner_client.get(reverse("mail:accounts"))

    assert page.status_code == 200
    assert "No mail account yet" in page.content.decode()


def test_the_list_shows_only_my_accounts_with_their_status(owner_client, account, colleague) -> None:
    mail_account_create(
        owner=colleague, email_address="colin@example.org", imap_host="h.example.org", imap_password="x"
    )
    MailAccount.objects.filter(pk=account.pk).update(sync_status=SyncStatus.ERROR, last_error="The server is down.")

    html = owner_client.get(reverse("mail:accounts")).content.decode()

    assert "olivia@example.org" in html
    assert "colin@example.org" not in html
    assert "The server is down." in html
    assert SECRET not in html


def test_a_paused_account_asks_for_its_password_again(owner_client, account) -> None:
    MailAccount.objects.filter(pk=account.pk).update(
        sync_status=SyncStatus.ERROR, sync_paused=True, last_error="The server refused the password."
    )

    html = owner_client.get(reverse("mail:accounts")).content.decode()

    assert "Paused: wrong password — enter it again" in html
    assert "Enter the password again" in html


def test_the_settings_navigation_links_to_mail_accounts(owner_client) -> None:
    html = owner_client.get(reverse("accounts:profile")).content.decode()

    assert f'href="{reverse("mail:accounts")}"' in html


# ---------------------------------------------------------------- adding, two steps
def test_adding_an_account_in_two_steps_creates_it_once_imap_login_works(owner_client, owner, organisation, mail_user):
    step1 = owner_client.post(
        reverse("mail:account_add"),
        {"step": "address", "email_address": mail_user.address, "password": mail_user.password},
    )
    assert step1.status_code == 302
    step2 = owner_client.get(step1["Location"])
    html = step2.content.decode()

    assert "Your organisation&#x27;s mail server." in html or "Your organisation's mail server." in html
    assert f'value="{organisation.ports.imap}"' in html
    assert mail_user.password not in html  # the password of step 1 is kept on the server

    done = owner_client.post(reverse("mail:account_add"), settings_post(organisation, mail_user))

    assert done.status_code == 302
    assert done["Location"] == reverse("mail:accounts")
    account = MailAccount.objects.get(owner=owner)
    assert account.email_address == mail_user.address
    assert decrypt_secret(account.imap_password) == mail_user.password
    assert account.sync_status == SyncStatus.OK
    assert account.sieve_port == organisation.ports.sieve
    listing = owner_client.get(done["Location"]).content.decode()
    assert "is added" in listing
    assert "does not work yet" not in listing


def test_a_wrong_password_in_step_one_creates_nothing_and_says_why(owner_client, owner, organisation, mail_user):
    owner_client.post(
        reverse("mail:account_add"), {"step": "address", "email_address": mail_user.address, "password": "wrong-one"}
    )

    page = owner_client.post(reverse("mail:account_add"), settings_post(organisation, mail_user))
    html = page.content.decode()

    assert page.status_code == 200
    assert "refused the username or password" in html
    assert "The account is not added yet" in html
    assert "wrong-one" not in html
    assert not MailAccount.objects.filter(owner=owner).exists()


def test_a_password_typed_again_in_step_two_is_used(owner_client, owner, organisation, mail_user):
    owner_client.post(
        reverse("mail:account_add"), {"step": "address", "email_address": mail_user.address, "password": "typo"}
    )

    done = owner_client.post(
        reverse("mail:account_add"), settings_post(organisation, mail_user, imap_password=mail_user.password)
    )

    assert done.status_code == 302
    assert decrypt_secret(MailAccount.objects.get(owner=owner).imap_password) == mail_user.password


def test_a_broken_smtp_setting_still_saves_the_account_with_a_warning(owner_client, owner, organisation, mail_user):
    owner_client.post(
        reverse("mail:account_add"),
        {"step": "address", "email_address": mail_user.address, "password": mail_user.password},
    )
    port = closed_port()

    done = owner_client.post(reverse("mail:account_add"), settings_post(organisation, mail_user, smtp_port=port))

    assert done.status_code == 302
    assert MailAccount.objects.filter(owner=owner, smtp_port=port).exists()
    listing = owner_client.get(reverse("mail:accounts")).content.decode()
    assert "Sending (SMTP) does not work yet" in listing
    assert "refused the connection" in listing


def test_manual_setup_skips_discovery_and_leaves_every_field_editable(owner_client, mail_user, settings):
    settings.RUCHE_MAIL_DOMAINS = []
    step1 = owner_client.post(
        reverse("mail:account_add"),
        {"step": "address", "email_address": "olivia@elsewhere.example", "password": "pw", "manual": "1"},
    )
    html = owner_client.get(step1["Location"]).content.decode()

    assert "Manual setup." in html
    assert 'name="imap_host"' in html
    assert 'value="olivia@elsewhere.example"' in html  # the username
    assert 'name="imap_password"' in html


def test_step_two_without_step_one_starts_again(owner_client, organisation, mail_user):
    page = owner_client.post(reverse("mail:account_add"), settings_post(organisation, mail_user))

    assert page.status_code == 302
    assert page["Location"] == reverse("mail:account_add")


def test_an_address_already_added_is_refused_in_step_one(owner_client, account):
    page = owner_client.post(
        reverse("mail:account_add"), {"step": "address", "email_address": account.email_address, "password": "x"}
    )

    assert page.status_code == 200
    assert "You already added this address." in page.content.decode()


def test_a_user_may_have_several_accounts(owner_client, owner, organisation, make_mail_user):
    for user in (make_mail_user(), make_mail_user()):
        owner_client.post(
            reverse("mail:account_add"),
            {"step": "address", "email_address": user.address, "password": user.password},
        )
        owner_client.post(reverse("mail:account_add"), settings_post(organisation, user))

    assert MailAccount.objects.filter(owner=owner).count() == 2


# ---------------------------------------------------------------- settings of an account
def test_the_settings_page_never_contains_a_password(owner_client, account) -> None:
    html = owner_client.get(reverse("mail:account_edit", args=[account.pk])).content.decode()

    assert 'name="imap_password"' in html
    assert SECRET not in html
    assert "smtp-" + SECRET not in html
    assert account.imap_password not in html  # not even the ciphertext
    assert account.smtp_password not in html


def test_an_empty_password_field_leaves_the_password_unchanged(owner_client, owner, organisation, mail_user):
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=organisation.host,
        imap_port=organisation.ports.imap,
        imap_security="none",
        imap_password=mail_user.password,
        smtp_host=organisation.host,
        smtp_port=organisation.ports.submission,
        smtp_security="none",
    )
    data = settings_post(organisation, mail_user, label="Renamed", sieve_port="")
    del data["step"]

    page = owner_client.post(reverse("mail:account_edit", args=[account.pk]), data)

    assert page.status_code == 302
    account.refresh_from_db()
    assert account.label == "Renamed"
    assert account.sieve_port is None
    assert decrypt_secret(account.imap_password) == mail_user.password


def test_a_new_wrong_password_is_refused_and_nothing_changes(owner_client, owner, organisation, mail_user):
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=organisation.host,
        imap_port=organisation.ports.imap,
        imap_security="none",
        imap_password=mail_user.password,
    )
    data = settings_post(organisation, mail_user, label="Renamed", imap_password="typed-wrong")
    del data["step"]

    page = owner_client.post(reverse("mail:account_edit", args=[account.pk]), data)
    html = page.content.decode()

    assert page.status_code == 200
    assert "Nothing was changed" in html
    assert "refused the username or password" in html
    assert "typed-wrong" not in html
    account.refresh_from_db()
    assert account.label == ""
    assert decrypt_secret(account.imap_password) == mail_user.password


def test_entering_the_right_password_resumes_a_paused_account(owner_client, owner, organisation, mail_user):
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=organisation.host,
        imap_port=organisation.ports.imap,
        imap_security="none",
        imap_password="old-password",
    )
    MailAccount.objects.filter(pk=account.pk).update(
        sync_status=SyncStatus.ERROR, sync_paused=True, last_error="wrong password"
    )
    data = settings_post(organisation, mail_user, imap_password=mail_user.password)
    del data["step"]

    page = owner_client.post(reverse("mail:account_edit", args=[account.pk]), data)

    assert page.status_code == 302
    account.refresh_from_db()
    assert account.sync_status == SyncStatus.OK
    assert not account.sync_paused
    assert account.last_error == ""
    assert decrypt_secret(account.imap_password) == mail_user.password


# ---------------------------------------------------------------- connection test page, removal
def test_the_connection_test_page_says_what_failed(owner_client, account) -> None:
    page = owner_client.post(reverse("mail:account_test", args=[account.pk]))
    html = page.content.decode()

    assert page.status_code == 200
    assert "Incoming mail (IMAP)" in html
    assert "failed" in html
    account.refresh_from_db()
    assert account.sync_status == SyncStatus.ERROR
    assert account.last_error


def test_the_connection_test_page_reports_success(owner_client, owner, organisation, mail_user) -> None:
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=organisation.host,
        imap_port=organisation.ports.imap,
        imap_security="none",
        imap_password=mail_user.password,
        smtp_host=organisation.host,
        smtp_port=organisation.ports.submission,
        smtp_security="none",
        sieve_port=organisation.ports.sieve,
    )

    html = owner_client.post(reverse("mail:account_test", args=[account.pk])).content.decode()

    assert html.count('class="badge ok">works') == 3


def test_removing_asks_first_then_removes(owner_client, account) -> None:
    confirm = owner_client.get(reverse("mail:account_delete", args=[account.pk]))
    assert confirm.status_code == 200
    assert MailAccount.objects.filter(pk=account.pk).exists()

    done = owner_client.post(reverse("mail:account_delete", args=[account.pk]))

    assert done.status_code == 302
    assert not MailAccount.objects.filter(pk=account.pk).exists()


# ---------------------------------------------------------------- access
ACCOUNT_URLS = ["mail:account_edit", "mail:account_test", "mail:account_delete"]


@pytest.mark.parametrize("name", ACCOUNT_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_outsider_gets_404_on_every_account_url(outsider, account, name, method) -> None:
    client = Client()
    client.force_login(outsider)

    response = getattr(client, method)(reverse(name, args=[account.pk]), {"label": "taken", "imap_password": "x"})

    assert response.status_code == 404
    account.refresh_from_db()
    assert account.label == "Work"


def test_outsider_does_not_see_other_accounts_in_the_list(outsider, account) -> None:
    client = Client()
    client.force_login(outsider)

    assert account.email_address not in client.get(reverse("mail:accounts")).content.decode()


@pytest.mark.parametrize("name", ["mail:accounts", "mail:account_add"])
def test_anonymous_visitors_are_sent_to_sign_in(name) -> None:
    response = Client().get(reverse(name))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_a_successful_connection_test_resumes_a_paused_account(owner_client, owner, organisation, mail_user) -> None:
    account = mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_host=organisation.host,
        imap_port=organisation.ports.imap,
        imap_security="none",
        imap_password=mail_user.password,
    )
    MailAccount.objects.filter(pk=account.pk).update(sync_status=SyncStatus.ERROR, sync_paused=True)

    owner_client.post(reverse("mail:account_test", args=[account.pk]))

    account.refresh_from_db()
    assert account.sync_status == SyncStatus.OK
    assert not account.sync_paused


def test_adding_an_account_enqueues_its_first_sync_after_commit(
    owner_client, owner, organisation, mail_user, django_capture_on_commit_callbacks
) -> None:
    owner_client.post(
        reverse("mail:account_add"),
        {"step": "address", "email_address": mail_user.address, "password": mail_user.password},
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        owner_client.post(reverse("mail:account_add"), settings_post(organisation, mail_user))

    assert MailAccount.objects.filter(owner=owner).exists()
    assert len(callbacks) == 1  # sync_account.delay(account.pk), sent only once the account is committed
