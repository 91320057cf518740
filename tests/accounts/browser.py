"""Helpers for the accounts browser tests: signing in and out as a person would."""

from __future__ import annotations

import time
from typing import Any

import pyotp

TOTP_PERIOD = 30


def sign_in(page: Any, login: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page: Any, shown_name: str) -> None:
    page.get_by_text(shown_name, exact=True).click()  # opens the user menu
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/accounts/login/")


def confirm_password(page: Any, password: str) -> None:
    """allauth asks for the password again before a security change."""
    page.wait_for_url("**/accounts/reauthenticate/**")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Confirm").click()


def fresh_code(secret: str) -> str:
    """The current TOTP code, taken early enough in its window to still be valid when posted."""
    if TOTP_PERIOD - time.time() % TOTP_PERIOD < 3:
        time.sleep(3.5)
    return pyotp.TOTP(secret).now()


def wrong_code(secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + step * TOTP_PERIOD) for step in (-1, 0, 1)}
    candidate = 0
    while f"{candidate:06d}" in valid:
        candidate += 1
    return f"{candidate:06d}"


def activate_totp(page: Any, password: str) -> str:
    """From a signed-in page: turns on the authenticator app; returns its secret.

    Leaves the page on the recovery codes allauth generates with the first factor.
    """
    page.goto("/accounts/2fa/")
    page.get_by_role("link", name="Set up an authenticator app").click()
    confirm_password(page, password)
    page.wait_for_url("**/2fa/totp/activate/")
    secret = page.get_by_label("Secret").input_value()
    page.get_by_label("Authenticator code").fill(fresh_code(secret))
    page.get_by_role("button", name="Activate").click()
    page.wait_for_url("**/2fa/recovery-codes/")
    return secret
