"""Keyboard shortcuts of the mailbox in headless Chromium, acting on the real Dovecot."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.mail.mailboxes import account_for, deliver, email_message, open_inbox, server_count, sync

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, *(email_message(f"Note {n}") for n in range(1, 4)))
    sync(account)
    return account


def done(page: Any, text: str = "1 message done.") -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_attached()


def test_question_mark_opens_the_help_and_escape_closes_it(
    new_context: Any, owner: Any, mailbox: Any, axe: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for text in ("Archive", "Reply", "Reply to all", "Forward", "Flag / unflag", "Junk / not junk", "Search"):
        expect(dialog.get_by_text(text, exact=True)).to_be_visible()
    assert axe(page) == []
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_e_archives_the_open_message_and_s_flags_it(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.keyboard.press("j")  # opens Note 3 (newest) in the pane
    expect(page.get_by_role("region", name="Message").get_by_role("heading", name="Note 3")).to_be_visible()
    page.keyboard.press("s")
    done(page)
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert len(imap.search("FLAGGED")) == 1
    page.keyboard.press("e")
    done(page)
    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 3")).to_have_count(0)
    assert server_count(mailstack, mail_user, "Archive") == 1


def test_x_selects_rows_and_hash_and_bang_act_on_them(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    messages = page.get_by_role("list", name="Messages")
    messages.get_by_role("link", name="Note 2").focus()
    page.keyboard.press("x")
    expect(messages.get_by_role("checkbox", name="Select: Note 2")).to_be_checked()
    page.keyboard.press("#")
    done(page)
    assert server_count(mailstack, mail_user, "Trash") == 1
    messages.get_by_role("link", name="Note 1").focus()
    page.keyboard.press("x")
    page.keyboard.press("!")
    done(page)
    assert server_count(mailstack, mail_user, "Junk") == 1
    assert server_count(mailstack, mail_user, "INBOX") == 1


def test_slash_focuses_search_and_typing_there_triggers_no_shortcut(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.get_by_role("list", name="Messages").get_by_role("link", name="Note 1").focus()
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search mail")
    expect(search).to_be_focused()
    page.keyboard.type("e#!s")
    expect(search).to_have_value("e#!s")
    assert server_count(mailstack, mail_user, "INBOX") == 3


def test_any_visible_element_marked_with_a_shortcut_is_clicked(new_context: Any, owner: Any, mailbox: Any) -> None:
    page = open_inbox(new_context, owner)
    page.keyboard.press("j")
    # Once the pane is loaded, its Reply link (data-shortcut="r") is the visible element for "r".
    pane = page.get_by_role("region", name="Message")
    expect(pane.get_by_role("heading", name="Note 3")).to_be_visible()
    expect(pane.get_by_role("link", name="Reply", exact=True)).to_be_visible()
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/mail/compose/\?source=\d+&kind=reply$"))
