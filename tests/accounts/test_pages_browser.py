"""The account pages in Chromium: accessible (axe), usable at 360 px, sign-out ends the session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.accounts.browser import confirm_password, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_login_and_password_reset_pages_pass_axe(page, axe):
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert axe(page) == []
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    expect(page.get_by_label("Email")).to_be_visible()
    assert axe(page) == []


def test_a_failed_sign_in_is_announced_and_passes_axe(page, axe, owner):
    sign_in(page, "olivia", "not the password")
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    assert axe(page) == []


def test_profile_mfa_index_and_totp_activation_pages_pass_axe(new_context, owner, password, axe):
    page = new_context().new_page()
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))
    page.goto("/accounts/profile/")
    expect(page.get_by_role("heading", name="Profile", exact=True)).to_be_visible()
    assert axe(page) == []
    page.get_by_role("link", name="Two-factor authentication").first.click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    assert axe(page) == []
    page.get_by_role("link", name="Set up an authenticator app").click()
    confirm_password(page, password)
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    assert axe(page) == []


def test_account_pages_load_no_blocked_script_or_style(new_context, owner, password):
    page = new_context().new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))
    for url in ("/accounts/profile/", "/accounts/2fa/", "/accounts/password/change/", "/accounts/email/"):
        page.goto(url)
        assert page.locator("[style]").count() == 0, url
    page.goto("/accounts/2fa/webauthn/add/")
    confirm_password(page, password)
    expect(page.get_by_role("heading", name="Add a security key")).to_be_visible()
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    assert violations == []


def test_login_and_profile_forms_work_at_360_px(new_context, owner, password):
    page = new_context(viewport={"width": 360, "height": 740}).new_page()
    page.goto("/accounts/login/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/accounts/profile/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.get_by_label("Display name").fill("Olivia at 360")
    page.get_by_label("Time zone").select_option("Europe/Paris")
    page.get_by_role("radio", name="Dark").check()
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    owner.refresh_from_db()
    assert (owner.display_name, owner.time_zone, owner.theme) == ("Olivia at 360", "Europe/Paris", "dark")
    assert page.locator("html").get_attribute("data-theme") == "dark"


def test_sign_out_ends_the_session(new_context, owner):
    context = new_context(owner)
    page = context.new_page()
    page.goto("/")
    expect(page.get_by_role("navigation", name="Apps")).to_be_attached()
    session_before = {c["name"]: c["value"] for c in context.cookies()}.get("sessionid")
    sign_out(page, "Olivia Owner")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto("/accounts/profile/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    # The old cookie is dead on the server too, not just dropped by the browser.
    replay = new_context()
    replay.add_cookies([{"name": "sessionid", "value": session_before, "url": page.url}])
    again = replay.new_page()
    again.goto("/accounts/profile/")
    again.wait_for_url(re.compile(r"/accounts/login/\?next="))


def test_choosing_french_turns_the_next_page_french(new_context, owner):
    page = new_context(owner).new_page()
    page.goto("/accounts/profile/")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Save the profile").click()
    page.wait_for_url("**/accounts/profile/")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.goto("/accounts/password/change/")
    expect(page.get_by_label("Mot de passe actuel")).to_be_visible()
