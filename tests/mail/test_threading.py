"""Conversations (apps.mail.threading): the grouping rules on tricky cases, batch by batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from apps.mail.models import Folder, MailAccount, Message, Thread, ThreadReference
from apps.mail.services import mail_account_create
from apps.mail.threading import thread_keys, thread_subject, threads_assign, threads_refresh

pytestmark = pytest.mark.django_db
_uids = count(1)
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def account(owner) -> MailAccount:
    return mail_account_create(
        owner=owner, email_address="olivia@example.test", imap_host="imap.invalid", imap_password="x"
    )


@pytest.fixture
def inbox(account: MailAccount) -> Folder:
    return Folder.objects.create(account=account, name="INBOX", role="inbox")


@pytest.fixture
def sent(account: MailAccount) -> Folder:
    return Folder.objects.create(account=account, name="Sent", role="sent")


def message(
    folder: Folder,
    message_id: str = "",
    *,
    refs: str = "",
    reply_to: str = "",
    subject: str = "Plans",
    minutes: int = 0,
    seen: bool = False,
) -> Message:
    return Message(
        account_id=folder.account_id,
        folder=folder,
        uid=next(_uids),
        message_id=message_id,
        references=refs,
        in_reply_to=reply_to,
        subject=subject,
        sort_date=START + timedelta(minutes=minutes),
        seen=seen,
    )


def index(*batch: Message) -> list[Message]:
    """What the sync does with one batch: assign threads, insert, refresh."""
    account_id = batch[0].account_id
    to_refresh = threads_assign(account_id=account_id, messages=batch)
    Message.objects.bulk_create(batch)
    threads_refresh(thread_ids=to_refresh)
    return list(batch)


def thread_of(message: Message) -> Thread:
    message.refresh_from_db()
    assert message.thread is not None
    return message.thread


def test_a_reply_joins_the_thread_of_its_original(inbox: Folder) -> None:
    (original,) = index(message(inbox, "a@x", subject="Plans"))
    (reply,) = index(message(inbox, "b@x", reply_to="a@x", refs="a@x", subject="Re: Plans", minutes=5))

    thread = thread_of(reply)
    assert thread == thread_of(original)
    assert thread.message_count == 2
    assert thread.subject == "Plans"
    assert thread.last_date == START + timedelta(minutes=5)


def test_a_reply_synced_before_its_original_still_joins_it(inbox: Folder) -> None:
    # Newest first: the reply is indexed in an earlier batch than the message it answers.
    (reply,) = index(message(inbox, "b@x", reply_to="a@x", refs="a@x", minutes=5))
    (original,) = index(message(inbox, "a@x"))

    assert thread_of(reply) == thread_of(original)
    assert Thread.objects.count() == 1


def test_a_reply_in_sent_arriving_before_the_original_in_the_inbox_joins_it(inbox: Folder, sent: Folder) -> None:
    (mine,) = index(message(sent, "b@x", reply_to="a@x", refs="a@x", seen=True, minutes=5))
    (theirs,) = index(message(inbox, "a@x"))

    thread = thread_of(mine)
    assert thread == thread_of(theirs)
    assert thread.message_count == 2
    assert thread.unread_count == 1


def test_siblings_of_a_missing_parent_share_a_thread(inbox: Folder) -> None:
    (first,) = index(message(inbox, "b@x", reply_to="never-seen@x", refs="never-seen@x"))
    (second,) = index(message(inbox, "c@x", reply_to="never-seen@x", refs="never-seen@x"))

    assert thread_of(first) == thread_of(second)


def test_a_deep_reply_joins_the_root_when_the_middle_message_is_missing(inbox: Folder) -> None:
    (grandchild,) = index(message(inbox, "c@x", reply_to="b@x", refs="a@x b@x", minutes=10))
    (root,) = index(message(inbox, "a@x"))

    assert thread_of(grandchild) == thread_of(root)


def test_a_message_linking_two_threads_merges_them(inbox: Folder) -> None:
    (left,) = index(message(inbox, "a@x"))
    (right,) = index(message(inbox, "c@x", reply_to="b@x", refs="b@x"))
    assert thread_of(left) != thread_of(right)
    merged_away = max(thread_of(left).pk, thread_of(right).pk)

    (bridge,) = index(message(inbox, "b@x", reply_to="a@x", refs="a@x", minutes=3))

    thread = thread_of(bridge)
    assert thread == thread_of(left) == thread_of(right)
    assert thread.message_count == 3
    assert not Thread.objects.filter(pk=merged_away).exists()
    assert set(ThreadReference.objects.values_list("thread_id", flat=True)) == {thread.pk}


def test_cycles_in_references_do_not_break_threading(inbox: Folder) -> None:
    one, two = index(
        message(inbox, "a@x", refs="b@x", reply_to="b@x"),
        message(inbox, "b@x", refs="a@x", reply_to="a@x"),
    )
    (self_loop,) = index(message(inbox, "c@x", refs="c@x c@x a@x"))

    assert thread_of(one) == thread_of(two) == thread_of(self_loop)


def test_messages_with_the_same_message_id_share_a_thread(inbox: Folder) -> None:
    first, second = index(message(inbox, "dup@x"), message(inbox, "dup@x", subject="Other"))

    assert thread_of(first) == thread_of(second)


def test_a_message_stored_in_two_folders_is_one_thread_with_both_copies(inbox: Folder, sent: Folder) -> None:
    (copy_one,) = index(message(inbox, "a@x"))
    (copy_two,) = index(message(sent, "a@x"))

    thread = thread_of(copy_one)
    assert thread == thread_of(copy_two)
    assert thread.message_count == 2


def test_a_reply_without_references_is_not_grouped_by_subject(inbox: Folder) -> None:
    (original,) = index(message(inbox, "a@x", subject="Hello"))
    (lookalike,) = index(message(inbox, "b@x", subject="Re: Hello"))

    assert thread_of(original) != thread_of(lookalike)


def test_messages_without_any_id_each_get_their_own_thread(inbox: Folder) -> None:
    first, second = index(message(inbox), message(inbox))

    assert thread_of(first) != thread_of(second)


def test_threads_of_different_accounts_never_mix(inbox: Folder, colleague) -> None:
    other = mail_account_create(
        owner=colleague, email_address="colin@example.test", imap_host="imap.invalid", imap_password="x"
    )
    other_inbox = Folder.objects.create(account=other, name="INBOX", role="inbox")
    (mine,) = index(message(inbox, "shared@x"))
    (theirs,) = index(message(other_inbox, "shared@x"))

    assert thread_of(mine) != thread_of(theirs)
    assert thread_of(theirs).account_id == other.pk


def test_unread_counts_follow_flag_changes_and_deletions(inbox: Folder) -> None:
    first, second = index(message(inbox, "a@x"), message(inbox, "b@x", refs="a@x", minutes=1))
    thread = thread_of(first)
    assert (thread.message_count, thread.unread_count) == (2, 2)

    Message.objects.filter(pk=first.pk).update(seen=True)
    threads_refresh(thread_ids=[thread.pk])
    thread.refresh_from_db()
    assert thread.unread_count == 1

    Message.objects.filter(pk__in=[first.pk, second.pk]).delete()
    threads_refresh(thread_ids=[thread.pk])
    assert not Thread.objects.filter(pk=thread.pk).exists()


def test_a_batch_costs_a_bounded_number_of_queries(inbox: Folder, django_assert_max_num_queries) -> None:
    index(*[message(inbox, f"old{n}@x") for n in range(50)])
    batch = [message(inbox, f"new{n}@x", refs=f"old{n}@x new{n - 1}@x", minutes=n) for n in range(400)]

    with django_assert_max_num_queries(6):  # key lookup, new threads, merges (3), new keys
        to_refresh = threads_assign(account_id=inbox.account_id, messages=batch)
    Message.objects.bulk_create(batch)
    with django_assert_max_num_queries(3):  # counts, then empty threads and their keys dropped
        threads_refresh(thread_ids=to_refresh)

    assert Thread.objects.filter(account_id=inbox.account_id).count() == 1


def test_thread_keys_and_subjects() -> None:
    assert thread_keys(message_id="c@x", in_reply_to="b@x", references="a@x b@x") == ["c@x", "a@x", "b@x"]
    assert thread_subject("Re: Fwd: AW: Lunch") == "Lunch"
    assert thread_subject("RE[2]: Lunch") == "Lunch"
    assert thread_subject("Regarding lunch") == "Regarding lunch"
