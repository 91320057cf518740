"""Two-factor sign-in end to end in Chromium: authenticator app, recovery codes, security keys."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect

from tests.accounts.browser import activate_totp, confirm_password, fresh_code, sign_in, sign_out, wrong_code

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_owner_turns_on_totp_and_then_needs_the_code_to_sign_in(new_context, owner, password, axe):
    page = new_context().new_page()
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))
    secret = activate_totp(page, password)
    assert Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()
    expect(page.get_by_label("Unused codes")).to_be_visible()
    assert axe(page) == []

    sign_out(page, "Olivia Owner")
    sign_in(page, "olivia", password)
    page.wait_for_url("**/2fa/authenticate/")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    assert axe(page) == []

    page.get_by_label("Code").fill(wrong_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    assert page.url.endswith("/2fa/authenticate/")

    page.get_by_label("Code").fill(fresh_code(secret))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Apps")).to_be_attached()

    # Turning it off again: allauth first asks for a fresh code (the sign-in was by code).
    page.goto("/accounts/2fa/")
    page.get_by_role("link", name="Turn off the authenticator app").click()
    page.wait_for_url(re.compile(r"/reauthenticate/"))
    assert axe(page) == []
    confirm_password(page, password)
    expect(page.get_by_role("heading", name="Deactivate Authenticator App")).to_be_visible()
    assert axe(page) == []
    page.get_by_role("button", name="Deactivate").click()
    page.wait_for_url("**/accounts/2fa/")
    assert not Authenticator.objects.filter(user=owner, type=Authenticator.Type.TOTP).exists()


def test_a_recovery_code_signs_in_once_and_only_once(new_context, owner, password):
    page = new_context().new_page()
    sign_in(page, "olivia", password)
    activate_totp(page, password)
    codes = page.get_by_label("Unused codes").input_value().split()
    assert len(codes) == 10

    sign_out(page, "Olivia Owner")
    sign_in(page, "olivia", password)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/$"))

    sign_out(page, "Olivia Owner")
    sign_in(page, "olivia", password)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    page.get_by_label("Code").fill(codes[1])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/$"))


def _virtual_authenticator(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp


def test_owner_adds_a_security_key_signs_in_with_it_renames_and_removes_it(
    new_context, live_server, owner, password, axe
):
    # WebAuthn refuses IP addresses as relying-party ids; "localhost" is a secure context too.
    context = new_context(base_url=live_server.url.replace("127.0.0.1", "localhost"))
    page = context.new_page()
    _virtual_authenticator(context, page)
    sign_in(page, "olivia", password)
    page.wait_for_url(re.compile(r"/$"))

    page.goto("/accounts/2fa/")
    page.get_by_role("link", name="Add a security key").click()
    confirm_password(page, password)
    page.wait_for_url("**/2fa/webauthn/add/")
    page.get_by_label("Name").fill("Test key")
    page.get_by_role("button", name="Add").click()
    page.wait_for_url("**/2fa/recovery-codes/")
    key = Authenticator.objects.get(user=owner, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Test key"

    sign_out(page, "Olivia Owner")
    sign_in(page, "olivia", password)
    page.wait_for_url("**/2fa/authenticate/")
    page.get_by_role("button", name="Use a security key").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation", name="Apps")).to_be_attached()
    key.refresh_from_db()
    assert key.last_used_at is not None

    page.goto("/accounts/2fa/webauthn/")
    expect(page.get_by_role("cell", name="Test key", exact=True)).to_be_visible()
    assert axe(page) == []
    page.get_by_role("link", name="Rename Test key").click()
    confirm_password(page, password)  # a key sign-in is not a re-authentication
    page.get_by_label("Name").fill("Desk key")
    assert axe(page) == []
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Desk key", exact=True)).to_be_visible()
    page.get_by_role("link", name="Remove Desk key").click()
    expect(page.get_by_role("heading", name="Remove Security Key")).to_be_visible()
    assert axe(page) == []
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No security key yet.")).to_be_visible()
    assert not Authenticator.objects.filter(user=owner, type=Authenticator.Type.WEBAUTHN).exists()
