"""Organising in headless Chromium against the real Dovecot: selection, toolbar, rollback, drag and drop, folders."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from apps.mail.models import Folder, Snooze
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, open_inbox, server_count, sync

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, *(email_message(f"Note {n}") for n in range(1, 5)))
    sync(account)
    return account


def test_shift_click_selects_a_range_and_archive_moves_it_on_the_server(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any, axe: Any
) -> None:
    page = open_inbox(new_context, owner)
    messages = page.get_by_role("list", name="Messages")
    messages.get_by_role("checkbox", name="Select: Note 4").check()
    messages.get_by_role("checkbox", name="Select: Note 2").click(modifiers=["Shift"])
    expect(messages.get_by_role("checkbox", checked=True)).to_have_count(3)
    assert axe(page) == []

    page.get_by_role("button", name="Archive", exact=True).first.click()

    expect(messages.get_by_role("link", name="Note 3")).to_have_count(0)
    expect(messages.locator(".msg")).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="3 messages done.")).to_be_attached()
    assert server_count(mailstack, mail_user, "Archive") == 3
    assert server_count(mailstack, mail_user, "INBOX") == 1


def test_select_all_on_this_page_then_mark_read(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.get_by_label("Select all on this page").check()
    expect(page.get_by_role("list", name="Messages").get_by_role("checkbox", checked=True)).to_have_count(4)

    page.get_by_role("button", name="Mark read").click()

    expect(page.locator(".msg.unread")).to_have_count(0)
    expect(page.locator(f'[data-unread-for="{inbox_of(mailbox).pk}"]')).to_be_hidden()
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert imap.search("UNSEEN") == []


def test_a_refused_move_rolls_the_list_back_with_a_plain_error(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    with mailstack.imap(mail_user) as imap:
        imap.create_folder("Doomed")
        imap.subscribe_folder("Doomed")
    sync(mailbox)
    page = open_inbox(new_context, owner)
    with mailstack.imap(mail_user) as imap:  # another program deletes the folder after our page loaded
        imap.delete_folder("Doomed")
    page.get_by_role("list", name="Messages").get_by_role("checkbox", name="Select: Note 1").check()

    page.get_by_text("Move to…").click()
    page.get_by_role("group", name="Move to folder").get_by_role("button", name="Doomed").click()

    expect(page.get_by_role("alert")).to_contain_text("The mail server refused")
    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 1")).to_be_visible()
    assert server_count(mailstack, mail_user, "INBOX") == 4


def test_dragging_a_row_onto_a_folder_moves_it(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    junk = Folder.objects.get(account=mailbox, role="junk")
    row = page.locator(".msg", has=page.get_by_role("link", name="Note 2"))

    row.drag_to(page.locator(f'[data-folders] a[data-folder-id="{junk.pk}"]'))

    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 2")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="1 message done.")).to_be_attached()
    assert server_count(mailstack, mail_user, "Junk") == 1


def test_delete_then_delete_for_ever_and_empty_trash_ask_first(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.get_by_role("list", name="Messages").get_by_role("link", name="Note 1").click()
    page.get_by_role("region", name="Message").get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 1")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="1 message done.")).to_be_attached()
    assert server_count(mailstack, mail_user, "Trash") == 1

    trash = Folder.objects.get(account=mailbox, role="trash")
    page.goto(f"/mail/f/{trash.pk}/")
    expect(page.locator(".msg-select").first).to_be_attached()
    page.once("dialog", lambda dialog: dialog.dismiss())  # "no": nothing happens
    page.get_by_role("list", name="Messages").get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Delete for ever").click()
    assert server_count(mailstack, mail_user, "Trash") == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete for ever").click()
    expect(page.get_by_role("list", name="Messages").locator(".msg")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="1 message done.")).to_be_attached()
    assert server_count(mailstack, mail_user, "Trash") == 0

    page.goto("/mail/")
    page.get_by_role("list", name="Messages").get_by_role("checkbox", name="Select: Note 2").check()
    page.get_by_role("button", name="Delete", exact=True).first.click()
    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 2")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="1 message done.")).to_be_attached()
    page.goto(f"/mail/f/{trash.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Empty Trash").click()
    expect(page.get_by_role("status").filter(has_text="1 message done.")).to_be_visible()
    assert server_count(mailstack, mail_user, "Trash") == 0


def test_snooze_from_the_menu_and_see_it_in_the_snoozed_view(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    page = open_inbox(new_context, owner)
    page.get_by_role("list", name="Messages").get_by_role("checkbox", name="Select: Note 3").check()
    page.get_by_text("Snooze until…").click()
    page.get_by_role("button", name="Tomorrow morning").click()
    expect(page.get_by_role("list", name="Messages").get_by_role("link", name="Note 3")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="1 message snoozed until")).to_be_attached()
    assert server_count(mailstack, mail_user, "Snoozed") == 1
    assert Snooze.objects.get().subject == "Note 3"

    page.get_by_role("link", name="Snoozed messages").click()
    expect(page.get_by_role("list", name="Snoozed messages").locator(".msg-subject")).to_have_text("Note 3")
    page.get_by_role("button", name="Unsnooze now").click()
    expect(page.get_by_text("The message is back in the Inbox.")).to_be_visible()
    assert server_count(mailstack, mail_user, "INBOX") == 4


def test_a_folder_created_in_one_tab_appears_in_the_other(
    new_context: Any, owner: Any, mailbox: Any, mailstack: Any, mail_user: Any, axe: Any
) -> None:
    context = new_context(owner)
    inbox_tab = context.new_page()
    inbox_tab.goto("/mail/")
    expect(inbox_tab.locator("body[data-socket=open]")).to_be_attached()
    manage = context.new_page()
    manage.goto(f"/mail/accounts/{mailbox.pk}/folders/")
    assert axe(manage) == []

    manage.get_by_label("Name").fill("Clients")
    manage.get_by_role("button", name="Create").click()

    expect(manage.get_by_text("Folder Clients created.")).to_be_visible()
    expect(inbox_tab.locator("[data-folders]").get_by_role("link", name="Clients")).to_be_visible()
    with mailstack.imap(mail_user) as imap:
        assert imap.folder_exists("Clients")


def test_toolbar_fits_a_phone(new_context: Any, owner: Any, mailbox: Any) -> None:
    page = open_inbox(new_context, owner, viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    archive = page.get_by_role("button", name="Archive", exact=True).first
    # Nothing ticked: the buttons are folded away and the first row sits in the top half of the screen.
    expect(archive).to_be_hidden()
    first_row = page.get_by_role("list", name="Messages").get_by_role("listitem").first
    box = first_row.bounding_box()
    assert box is not None
    assert box["y"] < 370, box
    first_row.get_by_role("checkbox").check()
    expect(archive).to_be_visible()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    first_row.get_by_role("checkbox").uncheck()
    expect(archive).to_be_hidden()
