"""The body indexer (apps.mail.indexer) and its task, against the real Dovecot."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from apps.core.redis import get_redis
from apps.mail import indexer, mime, tasks
from apps.mail.bodies import message_raw
from apps.mail.models import Folder, MailAccount, Message, MessageBody
from apps.mail.search import parse_query, search_messages
from apps.mail.selectors import search_coverage_for_user
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync
from tests.mailstack import MailStack, MailUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(owner: Any, mail_user: MailUser, mailstack: MailStack) -> MailAccount:
    return account_for(owner, mail_user, mailstack)


def found(account: MailAccount, text: str) -> list[str]:
    """Subjects the index alone finds in the account's folders (no server fallback)."""
    folders = Folder.objects.filter(account=account)
    return [m.subject for m in search_messages(folders=folders, query=parse_query(text))]


def html_only(subject: str, html: str) -> EmailMessage:
    message = email_message(subject)
    message.set_content(html, subtype="html")
    return message


# ---------------------------------------------------------------- bodies become searchable
def test_a_word_only_in_a_body_is_found_after_the_indexer_ran_and_not_before(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    deliver(mailstack, mail_user, email_message("Weekly notes", text="The zanzibar shipment left on Monday."))
    sync(account)
    assert found(account, "zanzibar") == []

    result = indexer.bodies_index(account_id=account.pk)

    assert (result.indexed, result.remaining) == (1, 0)
    assert found(account, "zanzib") == ["Weekly notes"]
    message = indexed(account, "Weekly notes")
    assert message.body_indexed
    body = MessageBody.objects.get(message=message)
    assert b"zanzibar shipment" in bytes(body.raw or b"")  # small enough: kept as the reading cache


def test_words_of_an_html_only_body_are_found(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    deliver(
        mailstack,
        mail_user,
        html_only("Newsletter", "<html><body><h1>Autumn</h1><p>Our <b>pumpkinspice</b> special.</p></body></html>"),
    )
    sync(account)

    indexer.bodies_index(account_id=account.pk)

    assert found(account, "pumpkinspice") == ["Newsletter"]
    assert "<b>" not in MessageBody.objects.get(message=indexed(account, "Newsletter")).text


def test_attachment_names_are_searchable(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    message = email_message("Papers", text="See the file.")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="kilimanjaro-permit.pdf")
    deliver(mailstack, mail_user, message)
    sync(account)

    indexer.bodies_index(account_id=account.pk)

    assert found(account, "kilimanjaro") == ["Papers"]


def test_a_long_message_is_indexed_from_its_start_and_not_cached(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    filler = ("lorem ipsum dolor sit amet " * 40 + "\n") * 300  # ~320 KB, beyond the partial fetch
    deliver(
        mailstack, mail_user, email_message("Long report", text=f"Opening: quetzalcoatl.\n{filler}Closing: axolotl.")
    )
    sync(account)

    indexer.bodies_index(account_id=account.pk)

    assert found(account, "quetzalcoatl") == ["Long report"]
    assert found(account, "axolotl") == []  # past the first PARTIAL_BYTES: not fetched
    body = MessageBody.objects.get(message=indexed(account, "Long report"))
    assert body.raw is None  # only part of it was fetched: nothing to cache for reading


def test_a_body_cached_by_the_reader_is_read_from_the_cache_and_kept(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    deliver(mailstack, mail_user, email_message("Opened already", text="The word is marzipan."))
    sync(account)
    message = indexed(account, "Opened already")
    raw = message_raw(message=message)  # the reader caches it
    client = mailstack.imap(mail_user)  # then the message leaves the server
    client.select_folder("INBOX")
    client.delete_messages(client.search("ALL"))
    client.expunge()
    client.logout()

    result = indexer.bodies_index(account_id=account.pk)

    assert result.indexed == 1  # from the cache: the server was not needed
    assert found(account, "marzipan") == ["Opened already"]
    assert bytes(MessageBody.objects.get(message=message).raw or b"") == raw


# ---------------------------------------------------------------- robust, resumable, bounded
def test_hostile_messages_do_not_stop_the_indexer(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    nested = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1) for n in range(300))
    hostile = [
        b"From: \x80\x81 <\xff@\xfe>\r\nSubject: bad bytes\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"caf\xe9 \xff\xfe \x00 nul byte\r\n",
        b"Subject: unknown charset\r\nContent-Type: text/plain; charset=x-klingon\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n",
        b"Subject: deep nesting\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + nested,
        b"Content-Type: multipart/alternative; boundary=none\r\nSubject: broken mime\r\n\r\n--x\r\n",
        b"no header at all, just text\r\n",
        b"Subject: html bomb\r\nContent-Type: text/html\r\n\r\n" + b"<div>" * 20000 + b"wombat",
    ]
    deliver(mailstack, mail_user, *hostile)
    deliver(mailstack, mail_user, email_message("After the storm", text="A calm capybara."))
    sync(account)

    result = indexer.bodies_index(account_id=account.pk)

    assert result.remaining == 0
    assert result.indexed == len(hostile) + 1
    assert found(account, "capybara") == ["After the storm"]
    assert found(account, "wombat") == ["html bomb"]


def test_the_indexer_resumes_newest_first_and_records_nothing_twice(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    messages = []
    for day in range(1, 6):
        message = email_message(f"Day {day}", text=f"Entry number {day}.")
        del message["Date"]
        message["Date"] = f"Mon, {day:02d} Nov 2026 10:00:00 +0100"
        messages.append(message)
    deliver(mailstack, mail_user, *messages)
    sync(account)

    first = indexer.bodies_index(account_id=account.pk, limit=2)

    assert (first.indexed, first.remaining) == (2, 3)
    done = Message.objects.filter(account=account, body_indexed=True)
    assert sorted(done.values_list("subject", flat=True)) == ["Day 4", "Day 5"]

    second = indexer.bodies_index(account_id=account.pk)
    third = indexer.bodies_index(account_id=account.pk)

    assert (second.indexed, second.remaining) == (3, 0)
    assert (third.indexed, third.remaining) == (0, 0)
    assert MessageBody.objects.filter(message__account=account).count() == 5


def test_new_mail_after_a_full_index_is_indexed_by_the_next_run(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    deliver(mailstack, mail_user, email_message("First", text="alpha"))
    sync(account)
    indexer.bodies_index(account_id=account.pk)
    deliver(mailstack, mail_user, email_message("Second", text="kumquat"))
    sync(account)

    assert indexer.bodies_pending_count(account_id=account.pk) == 1
    assert indexer.bodies_index(account_id=account.pk).indexed == 1
    assert found(account, "kumquat") == ["Second"]


def test_a_paused_account_is_skipped(account: MailAccount, mailstack: MailStack, mail_user: MailUser) -> None:
    deliver(mailstack, mail_user, email_message("Waiting", text="papaya"))
    sync(account)
    MailAccount.objects.filter(pk=account.pk).update(sync_paused=True)

    result = indexer.bodies_index(account_id=account.pk)

    assert result.skipped
    assert (result.indexed, result.remaining) == (0, 1)


def test_two_workers_never_index_one_account_at_once(account: MailAccount) -> None:
    with indexer.bodies_index_lock(account.pk), pytest.raises(indexer.BodiesIndexBusy):
        indexer.bodies_index(account_id=account.pk)


def test_the_outsiders_messages_are_never_indexed_into_the_owners_results(
    owner: Any,
    outsider: Any,
    account: MailAccount,
    mailstack: MailStack,
    mail_user: MailUser,
    make_mail_user: Callable[..., MailUser],
) -> None:
    outsider_user = make_mail_user()
    theirs = account_for(outsider, outsider_user, mailstack)
    deliver(mailstack, outsider_user, email_message("Their plans", text="The secret word is tamarind."))
    deliver(mailstack, mail_user, email_message("My plans", text="Nothing secret here."))
    sync(theirs)
    sync(account)

    indexer.bodies_index(account_id=account.pk)

    assert not Message.objects.filter(account=theirs, body_indexed=True).exists()
    indexer.bodies_index(account_id=theirs.pk)
    mine = Folder.objects.filter(account__owner=owner)
    assert [m.subject for m in search_messages(folders=mine, query=parse_query("tamarind"))] == []
    assert [m.subject for m in search_messages(folders=mine, query=parse_query("secret"))] == ["My plans"]


# ---------------------------------------------------------------- progress and tasks
def test_search_coverage_counts_what_remains(
    owner: Any, account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    deliver(mailstack, mail_user, *[email_message(f"Note {n}", text="text") for n in range(3)])
    sync(account)

    (coverage,) = search_coverage_for_user(user=owner)
    assert (coverage.account_id, coverage.bodies_indexed, coverage.total, coverage.remaining) == (account.pk, 0, 3, 3)

    indexer.bodies_index(account_id=account.pk)

    assert search_coverage_for_user(user=owner) == []  # everything covered: nothing to say


def test_a_sync_that_brings_new_mail_queues_the_indexer(
    account: MailAccount, mailstack: MailStack, mail_user: MailUser
) -> None:
    redis = get_redis()
    redis.delete(tasks._index_queued_key(account.pk))
    tasks.sync_account(account.pk)  # nothing on the server yet
    assert not redis.exists(tasks._index_queued_key(account.pk))
    deliver(mailstack, mail_user, email_message("Fresh", text="guava"))

    tasks.sync_account(account.pk)

    assert redis.exists(tasks._index_queued_key(account.pk))
    assert not tasks.index_bodies_enqueue(account.pk)  # queued once, not twice
    tasks.index_bodies(account.pk)  # the worker's run
    assert found(account, "guava") == ["Fresh"]
    assert not redis.exists(tasks._index_queued_key(account.pk))


def test_the_sweep_queues_accounts_with_bodies_waiting_but_not_paused_ones(
    owner: Any,
    outsider: Any,
    account: MailAccount,
    mailstack: MailStack,
    mail_user: MailUser,
    make_mail_user: Callable[..., MailUser],
) -> None:
    paused_user = make_mail_user()
    paused = account_for(outsider, paused_user, mailstack)
    deliver(mailstack, mail_user, email_message("Waiting", text="lychee"))
    deliver(mailstack, paused_user, email_message("Also waiting", text="lychee"))
    sync(account)
    sync(paused)
    MailAccount.objects.filter(pk=paused.pk).update(sync_paused=True)
    redis = get_redis()
    for pk in (account.pk, paused.pk):
        redis.delete(tasks._index_queued_key(pk))

    tasks.index_bodies_sweep_accounts()

    assert redis.exists(tasks._index_queued_key(account.pk))
    assert not redis.exists(tasks._index_queued_key(paused.pk))
    redis.delete(tasks._index_queued_key(account.pk))
    indexer.bodies_index(account_id=account.pk)
    tasks.index_bodies_sweep_accounts()
    assert not redis.exists(tasks._index_queued_key(account.pk))  # nothing left: not queued


CORPUS = sorted((Path(__file__).parent / "corpus").glob("*.eml"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_the_indexed_text_is_the_text_the_reader_shows(path: Path) -> None:
    raw = path.read_bytes()
    rendered = mime.parse_message(raw, cid_url=None)

    text = mime.message_text(raw)

    assert text.startswith(rendered.text)
    assert all(a.filename in text for a in rendered.attachments if a.filename)
