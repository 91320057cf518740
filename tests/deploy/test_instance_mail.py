"""The instance's own mail (password resets) really travels through SMTP to the user's mailbox."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.accounts.models import User
from tests.mailstack import MailStack, MailUser

NEW_PASSWORD = "Fresh-Meadow-4471"


@pytest.fixture
def smtp_through_stack(settings, mailstack: MailStack) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = mailstack.host
    settings.EMAIL_PORT = mailstack.ports.smtp
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 20
    settings.DEFAULT_FROM_EMAIL = f"Ruche <noreply@{mailstack.domain}>"


@pytest.mark.django_db
@pytest.mark.usefixtures("smtp_through_stack")
def test_a_password_reset_mail_arrives_and_its_link_sets_a_new_password(
    mailstack: MailStack, mail_user: MailUser
) -> None:
    user = User.objects.create_user(
        username=f"reset-{mail_user.local_part}", email=mail_user.address, password="Old-Password-1234"
    )
    client = Client()

    response = client.post("/accounts/password/reset/", {"email": mail_user.address})
    assert response.status_code == 302

    mail = mailstack.wait_for_message(mail_user, ["TO", mail_user.address])
    body = mail.get_body(preferencelist=("plain", "html"))
    assert body is not None
    text = body.get_content()
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s\"<>]+)", text)
    assert match, text

    form_page = client.get(match.group(1), follow=True)
    assert form_page.status_code == 200
    set_password_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else match.group(1)
    response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content.decode()[:3000]

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    fresh = Client()
    response = fresh.post("/accounts/login/", {"login": user.username, "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert fresh.session.get("_auth_user_id") == str(user.pk)
