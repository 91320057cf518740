"""Search asks the server about what the index does not hold yet (real Dovecot)."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from apps.mail import indexer
from apps.mail.models import Folder, MailAccount, Message
from apps.mail.search import SearchResults, parse_query, search_messages, search_results
from apps.mail.sync_found import INDEX_UIDS_MAX
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, sync
from tests.mailstack import MailStack, MailUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any, mail_user: MailUser, mailstack: MailStack) -> MailAccount:
    return account_for(owner, mail_user, mailstack)


def dated(subject: str, day: int, *, text: str = "Hello.", **headers: str) -> EmailMessage:
    message = email_message(subject, text=text, **headers)
    del message["Date"]
    message["Date"] = f"Mon, {day:02d} Nov 2026 10:00:00 +0100"
    return message


def backfill_interrupted(account: MailAccount, *, below: int) -> None:
    """As if the sync had indexed only the UIDs from `below` up: the older rows are not there yet."""
    inbox = inbox_of(account)
    Message.objects.filter(folder=inbox, uid__lt=below).delete()
    Folder.objects.filter(pk=inbox.pk).update(backfill_below=below, backfill_done=False)


def mine(owner: Any) -> Any:
    return Folder.objects.filter(account__owner=owner)


def index_only(owner: Any, text: str) -> list[str]:
    return [m.subject for m in search_messages(folders=mine(owner), query=parse_query(text))]


def everywhere(owner: Any, text: str, **options: Any) -> SearchResults:
    return search_results(folders=mine(owner), query=parse_query(text), **options)


def subjects(results: SearchResults) -> list[str]:
    return [m.subject for m in results.messages]


def fill_ten(mailstack: MailStack, mail_user: MailUser, special: dict[int, EmailMessage]) -> None:
    deliver(
        mailstack,
        mail_user,
        *[special.get(day) or dated(f"Day {day}", day, text=f"Entry {day}.") for day in range(1, 11)],
    )


# ---------------------------------------------------------------- below the indexed window
def test_the_server_finds_an_older_message_not_indexed_yet_and_it_joins_the_index(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(mailstack, mail_user, {2: dated("Old minutes", 2, text="We discussed the marmalade budget.")})
    sync(account)
    indexer.bodies_index(account_id=account.pk)
    backfill_interrupted(account, below=6)
    assert index_only(owner, "marmalade") == []

    results = everywhere(owner, "marmalade")

    assert subjects(results) == ["Old minutes"]
    assert results.from_server == 1
    assert not results.incomplete
    row = Message.objects.get(folder=inbox_of(account), uid=2)  # now in the index, like any row
    assert (row.subject, row.from_address, row.body_indexed) == ("Old minutes", "sam@example.org", False)
    assert row.thread_id is not None
    assert index_only(owner, "minutes") == ["Old minutes"]  # its headers are searchable from now on


def test_operators_are_asked_of_the_server_and_narrowed_by_the_index(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(
        mailstack,
        mail_user,
        {
            2: dated("From Zoe", 2, sender="Zoe Quill <zoe@example.org>"),
            3: dated("Also Zoe", 3, sender="Zoe Quill <zoe@example.org>"),
        },
    )
    sync(account)
    backfill_interrupted(account, below=6)

    assert subjects(everywhere(owner, "from:zoe")) == ["Also Zoe", "From Zoe"]
    assert subjects(everywhere(owner, "from:zoe before:2026-11-03")) == ["From Zoe"]
    assert subjects(everywhere(owner, "subject:zoe")) == ["Also Zoe", "From Zoe"]


def test_words_with_accents_reach_the_server(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(mailstack, mail_user, {3: dated("Vacances", 3, text="Rendez-vous à la crêperie cet été.")})
    sync(account)
    backfill_interrupted(account, below=6)

    assert subjects(everywhere(owner, "crêperie")) == ["Vacances"]


def test_a_query_the_server_cannot_answer_says_the_results_may_be_incomplete(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(mailstack, mail_user, {})
    sync(account)
    backfill_interrupted(account, below=6)

    results = everywhere(owner, "has:attachment")

    assert results.messages == []
    assert results.incomplete
    assert Message.objects.filter(account=account).count() == 5  # nothing fetched for it


def test_the_server_search_is_bounded_and_says_more_may_exist(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    many = INDEX_UIDS_MAX + 40
    deliver(mailstack, mail_user, *[email_message(f"Invoice {n}", text="Pay soon.") for n in range(many)])
    deliver(mailstack, mail_user, *[email_message(f"Note {n}") for n in range(5)])
    sync(account)
    backfill_interrupted(account, below=many + 1)

    bounded = everywhere(owner, "invoice")
    assert bounded.incomplete  # more matches than one search indexes
    assert Message.objects.filter(account=account, subject__startswith="Invoice").count() == INDEX_UIDS_MAX
    assert len(bounded.messages) == 50  # the page is full

    no_time = everywhere(owner, "pay", budget=0)
    assert no_time.incomplete
    assert no_time.from_server == 0


def test_a_complete_index_never_asks_the_server(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(mailstack, mail_user, {})
    sync(account)
    indexer.bodies_index(account_id=account.pk)
    account.imap_port = 1  # the server could not be reached: it must not be needed
    account.save(update_fields=["imap_port"])

    results = everywhere(owner, "entry")

    assert len(results.messages) == 10
    assert (results.incomplete, results.from_server) == (False, 0)


# ---------------------------------------------------------------- bodies not indexed yet
def test_a_body_not_indexed_yet_is_searched_on_the_server(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    deliver(mailstack, mail_user, email_message("Weekly notes", text="The zanzibar shipment left."))
    deliver(mailstack, mail_user, email_message("Other notes", text="Nothing to see."))
    sync(account)
    assert index_only(owner, "zanzibar") == []

    results = everywhere(owner, "zanzibar")

    assert subjects(results) == ["Weekly notes"]
    assert results.from_server == 1
    indexer.bodies_index(account_id=account.pk)
    assert index_only(owner, "zanzibar") == ["Weekly notes"]
    assert everywhere(owner, "zanzibar").from_server == 0


def test_the_outsiders_server_is_never_asked_for_the_owners_search(
    owner: Any,
    outsider: Any,
    account: MailAccount,
    mailstack: MailStack,
    mail_user: MailUser,
    make_mail_user: Callable[..., MailUser],
) -> None:
    outsider_user = make_mail_user()
    theirs = account_for(outsider, outsider_user, mailstack)
    deliver(mailstack, outsider_user, *[dated(f"Secret {d}", d, text="tamarind plans") for d in range(1, 6)])
    fill_ten(mailstack, mail_user, {})
    sync(theirs)
    sync(account)
    backfill_interrupted(theirs, below=4)
    backfill_interrupted(account, below=6)
    before = sorted(Message.objects.filter(account=theirs).values_list("id", "uid", "body_indexed"))

    results = everywhere(owner, "tamarind")

    assert results.messages == []
    assert sorted(Message.objects.filter(account=theirs).values_list("id", "uid", "body_indexed")) == before


# ---------------------------------------------------------------- the search page
def test_the_search_page_lists_what_the_server_found_and_typing_reads_the_index_only(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    fill_ten(mailstack, mail_user, {2: dated("Old minutes", 2, text="The marmalade budget.")})
    sync(account)
    backfill_interrupted(account, below=6)
    client = Client()
    client.force_login(owner)

    typing = client.get("/mail/search/", {"q": "marmalade", "partial": "list"}).content.decode()
    assert "Old minutes" not in typing  # as-you-type costs no IMAP round trip

    page = client.get("/mail/search/", {"q": "marmalade"}).content.decode()
    assert "Old minutes" in page
    assert "data-search-coverage" in page  # bodies are still waiting for the indexer
    assert "data-search-incomplete" not in page

    incomplete = client.get("/mail/search/", {"q": "has:attachment"}).content.decode()
    assert "data-search-incomplete" in incomplete
