"""Adding a mail account in Chromium at phone width: accessible, no horizontal scrolling, no CSP breakage."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from apps.mail.models import MailAccount

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def organisation(settings, mailstack):
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


def _fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_adding_an_account_at_360_px_passes_axe(new_context, owner, organisation, mail_user, axe) -> None:
    page = new_context(owner, viewport={"width": 360, "height": 740}).new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

    page.goto("/mail/accounts/")
    expect(page.get_by_text("No mail account yet")).to_be_visible()
    assert axe(page) == []
    page.get_by_role("link", name="Add a mail account").click()

    expect(page.get_by_role("heading", name="Add a mail account")).to_be_visible()
    assert axe(page) == []
    assert _fits_the_width(page)
    page.get_by_label("Email address").fill(mail_user.address)
    page.get_by_label("Password").fill(mail_user.password)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text("Your organisation's mail server.")).to_be_visible()
    expect(page.get_by_label("IMAP server")).to_have_value(organisation.host)
    assert axe(page) == []
    assert _fits_the_width(page)
    # The page's script moves the port along with the security choice (a typed port would stay).
    page.get_by_label("SMTP security").select_option("tls")
    expect(page.get_by_label("SMTP port")).to_have_value(str(organisation.ports.submission))
    page.get_by_label("IMAP port").fill("993")
    page.get_by_label("IMAP security").select_option("starttls")
    expect(page.get_by_label("IMAP port")).to_have_value("143")
    page.get_by_label("IMAP security").select_option("none")
    page.get_by_label("IMAP port").fill(str(organisation.ports.imap))
    page.get_by_label("SMTP security").select_option("none")
    page.get_by_role("button", name="Test and add the account").click()

    expect(page.get_by_role("heading", name=mail_user.address)).to_be_visible()
    expect(page.get_by_text("is added")).to_be_visible()
    assert axe(page) == []
    assert _fits_the_width(page)
    assert MailAccount.objects.filter(owner=owner, email_address=mail_user.address).exists()
    assert csp_errors == []
