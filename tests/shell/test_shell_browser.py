"""The shell in headless Chromium: presence live between two people, layout, keyboard, a11y, CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def watch_csp(page: Any) -> list[str]:
    """Collects the browser's Content-Security-Policy refusals (there must be none)."""
    refusals: list[str] = []
    page.on("console", lambda msg: refusals.append(msg.text) if "Content Security Policy" in msg.text else None)
    return refusals


def test_two_colleagues_see_each_other_come_online_and_go_offline(new_context: Any, owner: Any, colleague: Any) -> None:
    olivia = new_context(owner).new_page()
    olivia.goto("/")
    colin_row = (
        olivia.get_by_role("list", name="Colleagues and their status")
        .get_by_role("listitem")
        .filter(has_text="Colin Colleague")
    )
    expect(colin_row).to_contain_text("Never connected")

    colin = new_context(colleague).new_page()
    colin.goto("/")
    # Each sees the other online, pushed over the WebSocket without a reload.
    expect(colin_row).to_contain_text("Online")
    olivia_row = colin.get_by_role("listitem").filter(has_text="Olivia Owner")
    expect(olivia_row).to_contain_text("Online")

    colin.close()  # closing the tab closes its socket
    expect(colin_row).to_contain_text(re.compile(r"Offline · last seen"), timeout=5000)
    expect(olivia.get_by_text("0 connected")).to_be_visible()


def test_busy_status_set_from_the_menu_reaches_colleagues(new_context: Any, owner: Any, colleague: Any) -> None:
    colin = new_context(colleague).new_page()
    colin.goto("/")
    olivia = new_context(owner).new_page()
    olivia.goto("/")
    olivia_row = colin.get_by_role("listitem").filter(has_text="Olivia Owner")
    expect(olivia_row).to_contain_text("Online")

    olivia.get_by_text("Olivia Owner").first.click()  # the user menu's summary
    olivia.get_by_role("radio", name="Busy").check()
    expect(olivia_row).to_contain_text("Busy")
    olivia.get_by_role("radio", name="Available").check()
    expect(olivia_row).to_contain_text("Online")


def test_hidden_tab_shows_away(new_context: Any, owner: Any, colleague: Any) -> None:
    colin = new_context(colleague).new_page()
    colin.goto("/")
    olivia = new_context(owner).new_page()
    olivia.goto("/")
    olivia_row = colin.get_by_role("listitem").filter(has_text="Olivia Owner")
    expect(olivia_row).to_contain_text("Online")
    # Emulate the tab going to the background (the page cannot be hidden headlessly otherwise).
    olivia.evaluate(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    expect(olivia_row).to_contain_text("Away")


def test_home_has_no_serious_accessibility_violation_and_no_csp_refusal(
    new_context: Any, owner: Any, colleague: Any, axe: Any
) -> None:
    page = new_context(owner).new_page()
    refusals = watch_csp(page)
    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Hello, Olivia Owner")).to_be_visible()
    assert axe(page) == []
    page.get_by_text("Olivia Owner").first.click()
    assert axe(page) == []  # with the user menu open
    assert refusals == []


def test_keyboard_user_can_skip_to_content_and_reach_every_app(new_context: Any, owner: Any) -> None:
    page = new_context(owner).new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    nav = page.get_by_role("navigation", name="Apps")
    expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")


def test_phone_width_has_no_horizontal_scroll_and_a_menu_button(new_context: Any, owner: Any, colleague: Any) -> None:
    page = new_context(owner, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True).new_page()
    page.goto("/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    nav = page.get_by_role("navigation", name="Apps")
    home_link = nav.get_by_role("link", name="Home")
    expect(home_link).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    # The shell module has run (it sets this class first, then binds its handlers in the same task).
    expect(page.locator("html.js")).to_be_attached()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(home_link).to_be_visible()
    expect(home_link).to_be_focused()
    page.keyboard.press("Escape")
    expect(home_link).to_be_hidden()
    expect(menu).to_be_focused()


def test_anonymous_visitor_is_sent_to_login(page: Any) -> None:
    page.goto("/")
    assert "/accounts/login/" in page.url


def test_manifest_and_icons_are_served_by_ruche(page: Any) -> None:
    manifest = page.request.get("/manifest.webmanifest")
    assert manifest.ok
    data = manifest.json()
    assert data["start_url"] == "/"
    for icon in data["icons"]:
        assert page.request.get(icon["src"]).ok
    assert page.request.get("/favicon.ico").ok


def test_dark_theme_also_meets_contrast(new_context: Any, owner: Any, colleague: Any, axe: Any) -> None:
    page = new_context(owner, color_scheme="dark").new_page()
    page.goto("/")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(22, 20, 18)"
    assert axe(page) == []


def test_keyboard_user_sets_busy_from_the_user_menu(new_context: Any, owner: Any, colleague: Any) -> None:
    colin = new_context(colleague).new_page()
    colin.goto("/")
    olivia = new_context(owner).new_page()
    olivia.goto("/")
    olivia_row = colin.get_by_role("listitem").filter(has_text="Olivia Owner")
    expect(olivia_row).to_contain_text("Online")

    menu = olivia.locator("summary")
    menu.focus()
    olivia.keyboard.press("Enter")
    available = olivia.get_by_role("radio", name="Available")
    expect(available).to_be_visible()
    available.focus()
    olivia.keyboard.press("ArrowDown")  # radio groups move with the arrow keys
    expect(olivia.get_by_role("radio", name="Busy")).to_be_checked()
    expect(olivia_row).to_contain_text("Busy")
    olivia.keyboard.press("Escape")
    expect(olivia.get_by_role("radio", name="Busy")).to_be_hidden()
    expect(menu).to_be_focused()
