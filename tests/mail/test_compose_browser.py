"""The composer in headless Chromium against the real stack: chips, etiquette, undo, send, drafts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.mail.models import Draft, Outbox, OutboxState
from apps.mail.outbox import compose_preferences_update, outboxes_send_due
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Planning", sender="Sam <sam@example.org>", to=mail_user.address))
    sync(account)
    return account


def test_write_send_with_undo_then_send_for_real(
    new_context: Any, owner: Any, account: Any, make_mail_user: Any, mailstack: Any, axe: Any
) -> None:
    to = make_mail_user()
    page = new_context(owner, viewport={"width": 360, "height": 800}).new_page()
    page.goto("/mail/")
    page.get_by_role("link", name="Write").click()
    expect(page.get_by_role("heading", name="New message")).to_be_visible()
    assert axe(page) == []
    recipients = page.get_by_role("combobox", name="To")
    expect(recipients).to_be_focused()
    recipients.fill("not-an-address,")
    expect(page.locator(".chip.invalid")).to_have_count(1)
    page.get_by_role("button", name="Remove not-an-address").click()
    recipients.fill(f'"Doe, Jane" <{to.address}>')
    recipients.press("Enter")
    expect(page.locator(".chip")).to_have_count(1)
    page.get_by_label("Message", exact=True).fill("The plan is attached.")

    page.get_by_role("button", name="Send", exact=True).click()
    dialog = page.get_by_role("dialog", name="Before sending")
    expect(dialog).to_contain_text("The subject is empty.")
    expect(dialog).to_contain_text("nothing is attached")
    dialog.get_by_role("button", name="Go back and edit").click()
    page.get_by_label("Subject").fill("The plan")
    page.get_by_label("Message", exact=True).fill("Here is the plan.")
    page.get_by_role("button", name="Send", exact=True).click()

    toast = page.get_by_role("status").filter(has_text="Sending in")
    expect(toast).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(page).to_have_url(re.compile(r"/mail/compose/d/\d+/$"))  # back in the composer
    expect(page.get_by_label("Subject")).to_have_value("The plan")
    assert Outbox.objects.get().state == OutboxState.CANCELLED

    compose_preferences_update(user=owner, undo_seconds=1)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Sending in")).to_be_visible()
    outboxes_send_due(now=timezone.now() + timedelta(seconds=2))  # the worker's task
    expect(page.get_by_text("Message sent.")).to_be_visible(timeout=15_000)
    delivered = mailstack.wait_for_message(to, ["SUBJECT", "The plan"])
    assert delivered["To"] == f'"Doe, Jane" <{to.address}>'


def test_reply_from_the_reader_and_autosave_to_drafts(
    new_context: Any, owner: Any, account: Any, mailstack: Any, mail_user: Any
) -> None:
    page = new_context(owner).new_page()
    message = indexed(account, "Planning")
    page.goto(f"/mail/m/{message.pk}/")
    page.get_by_role("link", name="Reply", exact=True).click()
    expect(page.get_by_label("Subject")).to_have_value("Re: Planning")
    body = page.get_by_label("Message", exact=True)
    expect(body).to_be_focused()
    assert body.evaluate("el => el.selectionStart") == 0
    body.press_sequentially("Sounds good")
    expect(page.get_by_text("Draft saved at")).to_be_visible(timeout=10_000)
    draft = Draft.objects.get()
    assert draft.text.startswith("Sounds good\n\nOn ")
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("Drafts", readonly=True)
        assert len(imap.search("ALL")) == 1
    # The browser keeps a copy too: a reload after a crash restores unsaved typing.
    body.press_sequentially(" indeed")
    page.reload()
    expect(page.get_by_label("Message", exact=True)).to_contain_text("Sounds good")
