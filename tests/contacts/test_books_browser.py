"""In headless Chromium at phone width: create a book, add a contact, share it read-only; the colleague,
in a second browser context, sees the book and the contact without any edit control."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}


def no_sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_share_a_new_book_read_only_with_a_colleague(new_context: Any, owner: Any, colleague: Any, axe: Any) -> None:
    page = new_context(owner, viewport=PHONE).new_page()
    page.goto("/contacts/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Contacts")
    page.get_by_role("link", name="New address book").click()
    page.get_by_label("Name").fill("Partners")
    page.get_by_label("Description").fill("Firms we work with")
    assert axe(page) == []
    page.get_by_label("Description").press("Tab")
    page.keyboard.press("Enter")  # the focused Create button

    expect(page.get_by_role("heading", level=1)).to_have_text("Partners")
    expect(page.get_by_label("Address book", exact=True)).to_have_value(page.url.split("book=")[1])
    assert no_sideways_scroll(page)
    assert axe(page) == []

    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_label("Address book", exact=True).locator("option")).to_have_text(["Contacts", "Partners"])
    expect(page.get_by_label("Address book", exact=True).locator("option:checked")).to_have_text("Partners")
    page.get_by_label("First name").fill("Paula")
    page.get_by_label("Last name").fill("Partner")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Paula Partner")).to_be_visible()

    page.get_by_role("link", name="All contacts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Partners")  # the remembered book
    page.get_by_role("link", name="Share Partners").click()
    page.get_by_label("Person").fill("colin")
    page.get_by_label("Level", exact=True).select_option(label="Read")
    assert axe(page) == []
    page.get_by_label("Person").press("Enter")
    expect(page.get_by_text("Shared with Colin Colleague.")).to_be_visible()
    expect(page.get_by_label("Level for Colin Colleague")).to_have_value("1")
    assert no_sideways_scroll(page)
    assert axe(page) == []

    # The colleague, in their own browser context.
    theirs = new_context(colleague, viewport=PHONE).new_page()
    theirs.goto("/contacts/")
    switch = theirs.get_by_label("Address book", exact=True)
    switch.select_option(label="Partners (shared by Olivia Owner)")
    theirs.get_by_role("button", name="Show").click()
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Partners")
    expect(theirs.get_by_text("In “Partners”, shared by Olivia Owner · read only")).to_be_visible()
    results = theirs.locator("#contacts-results")
    expect(results.get_by_role("link", name="Paula Partner")).to_be_visible()
    for name in ("New contact", "Import", "Share Partners", "Rename Partners", "Delete book Partners"):
        expect(theirs.get_by_role("link", name=name)).to_have_count(0)
    expect(theirs.get_by_role("button", name="Leave this book")).to_be_visible()
    # Search as you type stays in the shared book.
    theirs.get_by_label("Search contacts").press_sequentially("paul")
    expect(results.get_by_role("link", name="Paula Partner")).to_be_visible()
    assert "book=" in theirs.url
    assert no_sideways_scroll(theirs)
    assert axe(theirs) == []

    results.get_by_role("link", name="Paula Partner").click()
    expect(theirs.get_by_role("heading", name="Paula Partner")).to_be_visible()
    expect(theirs.get_by_role("link", name="Edit")).to_have_count(0)
    expect(theirs.get_by_role("link", name="Delete")).to_have_count(0)
    assert axe(theirs) == []


def test_wide_screens_list_the_books_as_links(new_context: Any, owner: Any, axe: Any) -> None:
    page = new_context(owner, viewport={"width": 1280, "height": 800}).new_page()
    page.goto("/contacts/")
    nav = page.get_by_role("navigation", name="Address books")
    expect(nav.get_by_role("link", name="Contacts")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Address book", exact=True)).to_be_hidden()
    assert axe(page) == []
