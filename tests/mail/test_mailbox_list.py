"""The message list from the index: pages, sorts, quick filters, conversations, and who sees what."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.mail.models import Folder
from apps.mail.selectors import ListQuery, message_page
from tests.mail.index_factories import make_account, make_folder, make_message, make_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(owner: Any) -> Folder:
    return make_folder(make_account(owner))


def page_subjects(folder: Folder, **query: Any) -> tuple[list[str], str]:
    page = message_page(folders=[folder], query=ListQuery(**query))
    return [row.message.subject for row in page.rows], page.next_cursor


def test_keyset_pages_cover_every_message_once_newest_first(inbox: Folder) -> None:
    for day in range(7):
        make_message(inbox, subject=f"day {day}", days_ago=day)
    make_message(inbox, subject="same time as day 3", days_ago=3)  # a tie on the date
    seen: list[str] = []
    cursor = ""
    while True:
        subjects, cursor = page_subjects(inbox, limit=3, cursor=cursor, threads=False)
        seen += subjects
        if not cursor:
            break
    assert len(seen) == 8
    assert len(set(seen)) == 8
    assert seen[0] == "day 0"
    assert seen[-1] == "day 6"


def test_sorts_and_quick_filters(inbox: Folder) -> None:
    make_message(inbox, subject="b", from_name="Zoe", size=10, seen=True)
    make_message(inbox, subject="a", from_name="Adam", size=30, flagged=True, seen=True)
    make_message(inbox, subject="c", from_name="Marc", size=20, has_attachments=True)
    assert page_subjects(inbox, sort="from", descending=False, threads=False)[0] == ["a", "c", "b"]
    assert page_subjects(inbox, sort="size", threads=False)[0] == ["a", "c", "b"]
    assert page_subjects(inbox, sort="subject", descending=False, threads=False)[0] == ["a", "b", "c"]
    assert page_subjects(inbox, quick_filter="unread", threads=False)[0] == ["c"]
    assert page_subjects(inbox, quick_filter="flagged", threads=False)[0] == ["a"]
    assert page_subjects(inbox, quick_filter="attachments", threads=False)[0] == ["c"]


def test_offset_pages_of_other_sorts_do_not_repeat(inbox: Folder) -> None:
    for i in range(5):
        make_message(inbox, subject=f"s{i}", size=i)
    first, cursor = page_subjects(inbox, sort="size", limit=2, threads=False)
    second, cursor = page_subjects(inbox, sort="size", limit=2, cursor=cursor, threads=False)
    third, cursor = page_subjects(inbox, sort="size", limit=2, cursor=cursor, threads=False)
    assert first + second + third == ["s4", "s3", "s2", "s1", "s0"]
    assert cursor == ""


def test_conversation_view_shows_each_thread_once_at_its_newest_message(inbox: Folder) -> None:
    thread = make_thread(inbox.account, "Trip")
    thread.message_count = 3
    thread.save()
    make_message(inbox, subject="Trip", thread=thread, days_ago=5)
    make_message(inbox, subject="Re: Trip", thread=thread, days_ago=1)
    make_message(inbox, subject="Other", days_ago=3)
    make_message(inbox, subject="Re: Re: Trip (older copy)", thread=thread, days_ago=4)
    page = message_page(folders=[inbox], query=ListQuery(threads=True))
    assert [(r.message.subject, r.thread_count) for r in page.rows] == [("Re: Trip", 3), ("Other", 1)]
    flat = message_page(folders=[inbox], query=ListQuery(threads=False))
    assert len(flat.rows) == 4


def test_conversation_pages_fill_even_when_threads_are_long(inbox: Folder) -> None:
    thread = make_thread(inbox.account)
    for i in range(20):
        make_message(inbox, subject=f"reply {i}", thread=thread, days_ago=i / 100)
    for i in range(5):
        make_message(inbox, subject=f"single {i}", days_ago=1 + i)
    subjects, cursor = page_subjects(inbox, limit=4, threads=True)
    assert subjects == ["reply 0", "single 0", "single 1", "single 2"]
    rest, cursor = page_subjects(inbox, limit=4, threads=True, cursor=cursor)
    assert rest == ["single 3", "single 4"]
    assert cursor == ""


def test_list_page_costs_a_fixed_number_of_queries(owner: Any, inbox: Folder) -> None:
    for i in range(60):
        make_message(inbox, subject=f"m{i}", days_ago=i)
    client = Client()
    client.force_login(owner)
    client.get(f"/mail/f/{inbox.pk}/")  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as few:
        response = client.get(f"/mail/f/{inbox.pk}/?view=messages")
    for i in range(60, 120):
        make_message(inbox, subject=f"m{i}", days_ago=i)
    with CaptureQueriesContext(connection) as more:
        client.get(f"/mail/f/{inbox.pk}/?view=messages")
    assert response.status_code == 200
    assert len(more) == len(few)


def test_mailbox_page_lists_messages_and_pages_further(owner: Any, inbox: Folder) -> None:
    for i in range(55):
        make_message(inbox, subject=f"Subject {i}", days_ago=i)
    client = Client()
    client.force_login(owner)
    html = client.get(f"/mail/f/{inbox.pk}/?view=messages").content.decode()
    assert "Subject 0" in html
    assert "Subject 49" in html
    assert "Subject 50" not in html
    assert "Older messages" in html
    partial = client.get(f"/mail/f/{inbox.pk}/?view=messages&partial=list&cursor=o50").content.decode()
    assert "<html" not in partial


def test_outsider_gets_404_for_another_users_folder_and_message(owner: Any, outsider: Any, inbox: Folder) -> None:
    message = make_message(inbox, subject="Private")
    client = Client()
    client.force_login(outsider)
    for url in (
        f"/mail/f/{inbox.pk}/",
        f"/mail/f/{inbox.pk}/m/{message.pk}/",
        f"/mail/m/{message.pk}/",
        f"/mail/m/{message.pk}/pane",
        f"/mail/m/{message.pk}/frame",
        f"/mail/m/{message.pk}/source",
        f"/mail/m/{message.pk}/part/1/",
        f"/mail/m/{message.pk}/part/2/message",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/mail/m/{message.pk}/trust-sender").status_code == 404


def test_a_message_opened_in_the_wrong_folder_url_is_refused(owner: Any, inbox: Folder) -> None:
    other = make_folder(inbox.account, name="Archive", role="archive")
    message = make_message(other, subject="Archived")
    client = Client()
    client.force_login(owner)
    assert client.get(f"/mail/f/{inbox.pk}/m/{message.pk}/").status_code == 404


def test_anonymous_visitor_is_sent_to_login() -> None:
    response = Client().get("/mail/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_folder_rail_lists_every_account_and_its_subscribed_folders(owner: Any, outsider: Any, inbox: Folder) -> None:
    account = inbox.account
    inbox.unread = 3
    inbox.save(update_fields=["unread"])
    sent = make_folder(account, name="Sent", role="sent")
    make_folder(account, name="Projets/<img src=x onerror=alert(1)>Été", role="")
    hidden = make_folder(account, name="Old stuff", role="")
    hidden.subscribed = False
    hidden.save(update_fields=["subscribed"])
    second = make_account(owner, address="second@example.test")  # no folder yet: its first sync is running
    second.sync_status, second.last_error = "error", "<script>x</script> refused"
    second.save(update_fields=["sync_status", "last_error"])
    make_folder(make_account(outsider), name="Theirs", role="")
    client = Client()
    client.force_login(owner)
    html = client.get(f"/mail/f/{inbox.pk}/").content.decode()
    rail = html[html.index("data-folders") : html.index("</nav>")]
    assert rail.index(f'data-folder-id="{inbox.pk}" aria-current="page"') < rail.index("Sent") < rail.index("Été")
    assert f'data-unread-for="{inbox.pk}"><span class="visually-hidden">unread: </span>3</span>' in rail
    assert "&lt;img src=x onerror=alert(1)&gt;Été" in rail
    assert "<img" not in rail
    assert 'class="depth-1"' in rail
    assert "Old stuff" not in rail
    assert "Theirs" not in rail
    assert "second@example.test" in rail
    assert "Fetching the folder list" in rail
    assert "&lt;script&gt;x&lt;/script&gt; refused" in rail
    # The toolbar's "Move to" menu: every folder but the open one, under its account's name.
    menu = html[html.index('role="group" aria-label="Move to folder"') :]
    menu = menu[: menu.index("</div>")]
    assert f'value="{inbox.pk}"' not in menu
    assert f'value="{sent.pk}">Sent</button>' in menu
    assert '<p class="menu-heading">olivia@example.test</p>' in menu
    assert "&lt;img src=x onerror=alert(1)&gt;Été</button>" in menu
    assert "<script>x" not in html


def test_folder_rail_costs_one_query_however_many_accounts(owner: Any, inbox: Folder) -> None:
    client = Client()
    client.force_login(owner)
    client.get(f"/mail/f/{inbox.pk}/")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/mail/f/{inbox.pk}/")
    for n in range(3):
        make_folder(make_account(owner, address=f"more{n}@example.test"), name=f"Box{n}", role="")
    with CaptureQueriesContext(connection) as four:
        html = client.get(f"/mail/f/{inbox.pk}/").content.decode()
    assert all(f"Box{n}" in html for n in range(3))
    assert len(four) == len(one)


def test_sent_rows_show_the_recipients(owner: Any, inbox: Folder) -> None:
    sent = make_folder(inbox.account, name="Sent", role="sent")
    make_message(sent, subject="Report", to=[["Zoé <Z>", "zoe@example.org"], ["", "bob@example.org"]])
    make_message(inbox, subject="Hello", from_name="", from_address="ann@example.org")
    client = Client()
    client.force_login(owner)
    assert "To: Zoé &lt;Z&gt;, bob@example.org" in client.get(f"/mail/f/{sent.pk}/").content.decode()
    received = client.get(f"/mail/f/{inbox.pk}/").content.decode()
    assert "ann@example.org</span>" in received
    assert "To: " not in received


def test_reading_pane_lists_the_conversation_across_folders(owner: Any, inbox: Folder) -> None:
    from apps.mail.models import MessageBody
    from apps.mail.threading import threads_refresh

    sent = make_folder(inbox.account, name="Sent", role="sent")
    thread = make_thread(inbox.account, subject="Budget")
    first = make_message(inbox, subject="Budget", from_name="Ann <A>", thread=thread, days_ago=3)
    make_message(sent, subject="Re: Budget", from_name="", from_address="me@example.test", thread=thread, days_ago=2)
    last = make_message(inbox, subject="Re: Re: Budget", from_name="Ann <A>", thread=thread, days_ago=1, seen=True)
    threads_refresh(thread_ids=[thread.pk])  # the counts, as the sync keeps them
    raw = b"From: ann@example.org\r\nSubject: Re: Re: Budget\r\nContent-Type: text/plain\r\n\r\nFine by me.\r\n"
    MessageBody.objects.create(message=last, raw=raw)
    alone_thread = make_thread(inbox.account, subject="Alone")
    single = make_message(inbox, subject="Alone", thread=alone_thread, seen=True)
    threads_refresh(thread_ids=[alone_thread.pk])
    MessageBody.objects.create(message=single, raw=raw)
    client = Client()
    client.force_login(owner)
    html = client.get(f"/mail/m/{last.pk}/pane").content.decode()
    assert "3 messages in this conversation" in html
    items = html[html.index('class="thread-list"') :]
    assert items.index(f'href="/mail/m/{first.pk}/"') < items.index("me@example.test") < items.index("Sent")
    current = f'href="/mail/m/{last.pk}/" aria-current="true"><span>Ann &lt;A&gt;</span> <span class="muted">INBOX'
    assert current in items
    alone = client.get(f"/mail/m/{single.pk}/pane").content.decode()
    assert "Fine by me." in alone
    assert "in this conversation" not in alone


def test_the_view_switch_takes_effect_at_once_and_stays(owner: Any, inbox: Folder) -> None:
    thread = make_thread(inbox.account)
    for day in range(3):
        make_message(inbox, subject=f"Part {day}", thread=thread, days_ago=day)
    client = Client()
    client.force_login(owner)
    assert client.get(f"/mail/f/{inbox.pk}/").content.count(b"data-message-id=") == 1  # conversations
    client.post("/mail/preferences/", {"view": "messages", "next": f"/mail/f/{inbox.pk}/"})
    assert client.get(f"/mail/f/{inbox.pk}/").content.count(b"data-message-id=") == 3
    assert client.get(f"/mail/f/{inbox.pk}/").content.count(b"data-message-id=") == 3  # from the cache now
    client.post("/mail/preferences/", {"view": "threads", "next": f"/mail/f/{inbox.pk}/"})
    assert client.get(f"/mail/f/{inbox.pk}/").content.count(b"data-message-id=") == 1


def test_conversation_pages_match_the_newest_of_each_thread_page_after_page(inbox: Folder) -> None:
    """Every page, the first (folded as read) and the next ones (folded by a query), against brute force."""
    import random

    from apps.mail.models import Message
    from apps.mail.threading import threads_refresh

    rng = random.Random(5)
    archive = make_folder(inbox.account, name="Archive", role="archive")
    threads = [make_thread(inbox.account, f"T{n}") for n in range(40)]
    for n in range(300):
        thread = rng.choice([*threads, None])
        folder = inbox if rng.random() < 0.8 else archive  # newer messages elsewhere must not hide these
        make_message(folder, subject=f"m{n}", thread=thread, days_ago=rng.choice([rng.random() * 30, 2.0]))
    threads_refresh(thread_ids=[t.pk for t in threads])
    newest: dict[object, Message] = {}
    for message in Message.objects.filter(folder=inbox).order_by("-sort_date", "-id"):
        newest.setdefault(message.thread_id or ("alone", message.pk), message)
    expected = [m.subject for m in sorted(newest.values(), key=lambda m: (m.sort_date, m.pk), reverse=True)]
    shown, cursor = page_subjects(inbox, limit=7, threads=True)
    while cursor:
        more, cursor = page_subjects(inbox, limit=7, threads=True, cursor=cursor)
        shown += more
    assert shown == expected


def test_the_first_conversation_page_costs_no_more_queries_than_the_flat_one(owner: Any, inbox: Folder) -> None:
    for n in range(20):  # 60 messages: one read of candidates holds them all
        thread = make_thread(inbox.account, f"T{n}")
        for k in range(3):
            make_message(inbox, subject=f"T{n} {k}", thread=thread, days_ago=n + k / 10)
    client = Client()
    client.force_login(owner)
    client.get(f"/mail/f/{inbox.pk}/")
    with CaptureQueriesContext(connection) as threads:
        html = client.get(f"/mail/f/{inbox.pk}/?view=threads").content.decode()
    with CaptureQueriesContext(connection) as flat:
        client.get(f"/mail/f/{inbox.pk}/?view=messages")
    assert html.count("data-message-id=") == 20
    assert len(threads) == len(flat)
