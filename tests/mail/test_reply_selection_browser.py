"""Reply with only the selected text (static/js/reply-selection.js) in headless Chromium, real stack."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync

pytestmark = [pytest.mark.browser, pytest.mark.redis]

SELECT = """([rootSelector, needle]) => {
  const root = document.querySelector(rootSelector);
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + needle.length);
    const selection = document.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return selection.toString();
  }
  return null;
}"""


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(
        mailstack,
        mail_user,
        email_message("Plain one", text="First part stays out.\nSecond part goes in.\nThird part stays out."),
        email_message(
            "Html one",
            text="Alpha paragraph. Beta paragraph.",
            html="<p>Alpha paragraph stays out.</p><p>Beta paragraph goes in.</p>",
        ),
    )
    sync(account)
    return account


def composer_text(page: Any) -> str:
    body = page.get_by_label("Message", exact=True)
    expect(body).to_contain_text("wrote:")
    return str(body.input_value())


def test_reply_quotes_only_the_text_selected_in_a_plain_text_message(
    new_context: Any, owner: Any, account: Any
) -> None:
    page = new_context(owner).new_page()
    page.goto(f"/mail/m/{indexed(account, 'Plain one').pk}/")
    assert page.evaluate(SELECT, [".body-text", "Second part goes in."]) == "Second part goes in."
    page.get_by_role("link", name="Reply", exact=True).click()  # a real mouse press, which collapses the selection

    text = composer_text(page)
    assert "> Second part goes in." in text
    assert "First part" not in text
    assert "Third part" not in text


def test_r_quotes_only_the_text_selected_in_the_html_frame(new_context: Any, owner: Any, account: Any) -> None:
    page = new_context(owner).new_page()
    page.goto(f"/mail/m/{indexed(account, 'Html one').pk}/")
    frame = page.locator("iframe.body-frame").element_handle().content_frame()
    expect(frame.locator("body")).to_contain_text("Beta paragraph goes in.")
    assert frame.evaluate(SELECT, ["body", "Beta paragraph goes in."]) == "Beta paragraph goes in."
    page.keyboard.press("r")

    text = composer_text(page)
    assert "> Beta paragraph goes in." in text
    assert "Alpha" not in text


def test_reply_all_without_a_selection_quotes_the_whole_message(new_context: Any, owner: Any, account: Any) -> None:
    page = new_context(owner).new_page()
    page.goto(f"/mail/m/{indexed(account, 'Plain one').pk}/")
    page.evaluate("() => document.getSelection().removeAllRanges()")
    page.get_by_role("link", name="Reply all", exact=True).click()

    text = composer_text(page)
    assert "> First part stays out." in text
    assert "> Third part stays out." in text
    assert "quote=" not in page.url


def test_a_selection_outside_the_message_body_is_not_quoted(new_context: Any, owner: Any, account: Any) -> None:
    page = new_context(owner).new_page()
    page.goto(f"/mail/m/{indexed(account, 'Plain one').pk}/")
    assert page.evaluate(SELECT, ["[data-reader]", "Plain one"]) == "Plain one"  # the subject heading
    page.keyboard.press("a")

    text = composer_text(page)
    assert "> First part stays out." in text
    assert "quote=" not in page.url
