"""In headless Chromium: create a contact through the form, then find it by typing in the search box."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.contacts import services, vcards

pytestmark = [pytest.mark.browser]


def test_create_a_contact_and_find_it_by_typing(new_context: Any, owner: Any, axe: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    services.contact_create(book=book, fields=vcards.CardFields(full_name="Bruno Costa"))
    page = new_context(owner, viewport={"width": 360, "height": 740}).new_page()
    page.goto("/contacts/")
    page.get_by_role("link", name="New contact").click()
    page.get_by_label("First name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    page.get_by_label("Mail 1", exact=True).fill("ana@lima.test")
    page.get_by_label("Mail 1: type").select_option("work")
    assert axe(page) == []
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Ana Lima")).to_be_visible()
    expect(page.get_by_role("link", name="Write a mail")).to_have_attribute(
        "href", "/mail/compose/?to=Ana+Lima+%3Cana%40lima.test%3E"
    )
    page.get_by_role("link", name="All contacts").click()
    results = page.locator("#contacts-results")
    expect(results.get_by_role("link", name="Bruno Costa")).to_be_visible()

    page.get_by_label("Search contacts").press_sequentially("lim")
    expect(results.get_by_role("link", name="Bruno Costa")).to_have_count(0)
    expect(results.get_by_role("link", name="Ana Lima")).to_be_visible()
    assert page.url.endswith("/contacts/?q=lim")
    # No horizontal scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe(page) == []
