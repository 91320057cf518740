"""The mailbox in headless Chromium against a real Dovecot + Postfix: list, read, live push."""

from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.core.push import PushSupervisor
from apps.mail.push import ImapIdleWatchers
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, sync

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(
        mailstack,
        mail_user,
        email_message("Welcome aboard", text="Glad to have you.\n\n> You wrote:\n> hello"),
        email_message("Newsletter", text="plain", html="<h1>News</h1><img src='https://t.example/p.gif'>"),
    )
    sync(account)
    return account


@pytest.fixture
def push_process() -> Any:
    """The push process's loop (IDLE watchers) in a thread, as `manage.py push` runs it."""
    supervisor = PushSupervisor(watchers=ImapIdleWatchers(), interval=0.2)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    yield supervisor
    supervisor.request_stop()
    thread.join(timeout=10)


def test_reader_opens_a_message_in_the_pane_and_it_becomes_read(
    new_context: Any, owner: Any, mailbox: Any, axe: Any
) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/")
    messages = page.get_by_role("list", name="Messages")
    expect(messages.get_by_role("link", name="Welcome aboard")).to_be_visible()
    expect(page.get_by_role("link", name="Inbox")).to_have_attribute("aria-current", "page")
    assert axe(page) == []
    messages.get_by_role("link", name="Welcome aboard").click()
    reader = page.get_by_role("region", name="Message")
    expect(reader.get_by_role("heading", name="Welcome aboard")).to_be_visible()
    expect(reader.locator("blockquote.quote")).to_contain_text("hello")
    assert "/m/" in page.url
    inbox = inbox_of(mailbox)
    expect(page.locator(f'[data-unread-for="{inbox.pk}"]')).to_contain_text("1")  # one of two left, live
    assert axe(page) == []


def test_html_mail_shows_in_a_sandboxed_frame_with_remote_pictures_blocked(
    new_context: Any, owner: Any, mailbox: Any
) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/")
    page.get_by_role("link", name="Newsletter").click()
    expect(page.get_by_text("Remote pictures in this message are blocked")).to_be_visible()
    frame = page.frame_locator("iframe[title='Message body']")
    expect(frame.get_by_role("heading", name="News")).to_be_visible()
    assert frame.locator("img[src]").count() == 0  # the blocked picture keeps no address


def test_keyboard_j_and_k_walk_the_list(new_context: Any, owner: Any, mailbox: Any) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/")
    expect(page.locator("html.js")).to_be_attached()
    page.keyboard.press("j")
    expect(page.get_by_role("region", name="Message").get_by_role("heading", name="Newsletter")).to_be_visible()
    page.keyboard.press("j")
    expect(page.get_by_role("region", name="Message").get_by_role("heading", name="Welcome aboard")).to_be_visible()


def test_phone_shows_one_pane_at_a_time(new_context: Any, owner: Any, mailbox: Any) -> None:
    page = new_context(owner, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True).new_page()
    page.goto("/mail/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.get_by_role("link", name="Welcome aboard").click()
    reader_heading = page.get_by_role("heading", name="Welcome aboard")
    expect(reader_heading).to_be_visible()
    expect(page.get_by_role("list", name="Messages")).to_be_hidden()
    page.get_by_role("link", name="Back to the list").click()
    expect(page.get_by_role("list", name="Messages")).to_be_visible()


def test_mail_delivered_by_smtp_appears_without_reload(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any, push_process: Any
) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/")
    expect(page.get_by_role("link", name="Welcome aboard")).to_be_visible()
    expect(page.locator("body[data-socket=open]")).to_be_attached()
    message = EmailMessage()
    message["From"] = "Carol <carol@example.org>"
    message["To"] = mail_user.address
    message["Subject"] = "Fresh off the wire"
    message.set_content("Delivered by Postfix.")
    with smtplib.SMTP(mailstack.host, mailstack.ports.smtp, timeout=10) as smtp:
        smtp.send_message(message)
    mailstack.wait_for_message(mail_user, ["SUBJECT", "Fresh off the wire"], timeout=10)
    # Postfix → LMTP → Dovecot → IDLE → sync → event → list, without a reload.
    expect(page.get_by_role("link", name="Fresh off the wire")).to_be_visible(timeout=8000)
    inbox = inbox_of(mailbox)
    expect(page.locator(f'[data-unread-for="{inbox.pk}"]')).to_contain_text("3")


def test_flag_change_by_another_client_shows_without_reload(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any, push_process: Any
) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/?view=messages")
    row = page.locator(".msg").filter(has_text="Welcome aboard")
    expect(row).to_have_class("msg unread")
    expect(page.locator("body[data-socket=open]")).to_be_attached()
    with mailstack.imap(mail_user) as imap:  # another mail client (a phone, Thunderbird)
        imap.select_folder("INBOX")
        imap.add_flags(imap.search(["SUBJECT", "Welcome aboard"]), [b"\\Seen"])
    expect(row).not_to_have_class("msg unread", timeout=8000)
    inbox = inbox_of(mailbox)
    expect(page.locator(f'[data-unread-for="{inbox.pk}"]')).to_contain_text("1")


def test_view_choice_is_kept_for_the_user(new_context: Any, owner: Any, mailbox: Any) -> None:
    page = new_context(owner).new_page()
    page.goto("/mail/")
    expect(page.locator("html.js")).to_be_attached()
    page.get_by_label("View").select_option("messages")
    page.wait_for_load_state()
    expect(page.get_by_label("View")).to_have_value("messages")
    page.goto("/mail/")
    expect(page.get_by_label("View")).to_have_value("messages")
