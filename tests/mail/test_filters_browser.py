"""A filter made in headless Chromium files a message delivered through Postfix into the chosen folder."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.mail import filters
from tests.mail.mailboxes import account_for
from tests.mail.test_filters import smtp_deliver, wait_in_folder

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_a_rule_made_in_the_browser_files_delivered_mail(
    new_context: Any, owner: Any, mailstack: Any, make_mail_user: Any, axe: Any
) -> None:
    user, sender = make_mail_user(), make_mail_user()
    account = account_for(owner, user, mailstack)
    page = new_context(owner).new_page()
    page.goto(f"/mail/accounts/{account.pk}/filters/")
    page.get_by_role("link", name="New filter").click()

    page.get_by_label("Name", exact=True).fill("Receipts")
    first = page.locator("[data-rows='c'] [data-row]").first
    first.get_by_label("Field").select_option("from")
    expect(first.get_by_label("Header name")).to_be_hidden()  # only for "Other header…"
    first.get_by_label("Comparison").select_option("contains")
    first.get_by_label("Value").fill(sender.address)
    page.get_by_role("button", name="Add a condition").click()
    expect(page.locator("[data-rows='c'] [data-row]")).to_have_count(3)
    action = page.locator("[data-rows='a'] [data-row]").first
    action.get_by_label("Action").select_option("move")
    action.get_by_label("Folder, address or reason").fill("Receipts/2026")
    expect(action.get_by_label("keep a copy here")).to_be_hidden()
    assert axe(page) == []
    page.get_by_role("button", name="Save the filter").click()

    expect(page.get_by_text("The filter is saved on the server.")).to_be_visible()
    expect(page.get_by_role("list").filter(has_text="Receipts")).to_be_visible()
    assert axe(page) == []
    assert [r.name for r in filters.filters_load(account=account).filters.rules] == ["Receipts"]

    smtp_deliver(mailstack, sender=sender.address, to=user.address, subject="Your receipt")
    filed = wait_in_folder(mailstack, user, "Your receipt", "Receipts/2026")
    assert filed["From"].addresses[0].addr_spec == sender.address


def test_the_filters_page_works_at_360_pixels(new_context: Any, owner: Any, mailstack: Any, mail_user: Any) -> None:
    account = account_for(owner, mail_user, mailstack)
    page = new_context(owner, viewport={"width": 360, "height": 740}).new_page()
    page.goto(f"/mail/accounts/{account.pk}/filters/")
    expect(page.get_by_role("heading", name="Out-of-office reply")).to_be_visible()
    # Nothing of the filters page reaches past the screen's edge (the shared settings layout is not ours).
    overflowing = page.evaluate(
        "[...document.querySelectorAll('[data-mail-filters] *')]"
        ".filter(e => e.getBoundingClientRect().right > 361).map(e => e.tagName)"
    )
    assert overflowing == []
