"""The Outbox state machine: undo, scheduled sends, the sweep, never sending twice; etiquette."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.mail.models import Draft, DraftAttachment, Outbox, OutboxState
from apps.mail.outbox import (
    NudgesPending,
    SendError,
    compose_preferences_update,
    etiquette_nudges,
    message_send,
    outbox_cancel,
    outbox_deliver,
    outboxes_send_due,
)
from apps.mail.tasks import outbox_sweep
from tests.mail.mailboxes import account_for, sync

pytestmark = pytest.mark.django_db(transaction=True)
JSON: dict[str, Any] = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    sync(account)
    return account


def new_draft(owner: Any, account: Any, **fields: Any) -> Draft:
    values = {"to": "", "subject": "Hello", "text": "Hi.", "message_id": f"<{timezone.now().timestamp()}@example.test>"}
    return Draft.objects.create(owner=owner, account=account, **{**values, **fields})


def inbox_subjects(mailstack: Any, user: Any) -> list[str]:
    with mailstack.imap(user) as imap:
        imap.select_folder("INBOX", readonly=True)
        uids = imap.search("ALL")
        return [d[b"ENVELOPE"].subject.decode() for d in imap.fetch(uids, ["ENVELOPE"]).values()] if uids else []


def test_undo_puts_the_message_back_and_nothing_is_sent(
    owner_client: Client, owner: Any, account: Any, make_mail_user: Any, mailstack: Any
) -> None:
    to = make_mail_user()
    sent = owner_client.post(
        reverse("mail:compose_send"), {"account": account.pk, "to": to.address, "subject": "Oops", "text": "x"}, **JSON
    ).json()
    assert sent["seconds"] == 10  # the default undo delay
    undone = owner_client.post(sent["undo_url"], **JSON)
    assert undone.json()["compose_url"] == sent["compose_url"]
    assert outboxes_send_due(now=timezone.now() + timedelta(minutes=1)) == 0
    assert Outbox.objects.get().state == OutboxState.CANCELLED
    assert Draft.objects.get().subject == "Oops"
    # Sent later after all: it goes, once.
    again = owner_client.post(
        reverse("mail:compose_send"),
        {"draft": sent["outbox"] and Draft.objects.get().pk, "to": to.address, "subject": "Oops", "text": "x"},
        **JSON,
    )
    assert again.status_code == 200
    assert outboxes_send_due(now=timezone.now() + timedelta(minutes=1)) == 1
    mailstack.wait_for_message(to, ["SUBJECT", "Oops"])
    assert inbox_subjects(mailstack, to) == ["Oops"]


def test_the_sweep_sends_what_no_worker_ran(owner: Any, account: Any, make_mail_user: Any, mailstack: Any) -> None:
    to = make_mail_user()
    held = message_send(draft=new_draft(owner, account, to=to.address, subject="Swept"))
    # No worker ran the ETA task; the time passes; beat's sweep runs the task body.
    Outbox.objects.filter(pk=held.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1
    mailstack.wait_for_message(to, ["SUBJECT", "Swept"])
    assert Outbox.objects.get(pk=held.pk).state == OutboxState.SENT


def test_a_second_delivery_of_the_task_never_sends_twice(
    owner: Any, account: Any, make_mail_user: Any, mailstack: Any
) -> None:
    to = make_mail_user()
    held = message_send(draft=new_draft(owner, account, to=to.address, subject="Once"))
    later = timezone.now() + timedelta(minutes=1)
    assert outbox_deliver(outbox_id=held.pk, now=later) is True
    assert outbox_deliver(outbox_id=held.pk, now=later) is False
    assert outboxes_send_due(now=later) == 0
    mailstack.wait_for_message(to, ["SUBJECT", "Once"])
    assert inbox_subjects(mailstack, to) == ["Once"]


def test_a_message_caught_sending_by_a_crash_is_failed_not_resent(owner: Any, account: Any) -> None:
    held = message_send(draft=new_draft(owner, account, to="a@example.org"))
    Outbox.objects.filter(pk=held.pk).update(
        state=OutboxState.SENDING, sending_since=timezone.now() - timedelta(hours=1)
    )
    assert outboxes_send_due(now=timezone.now() + timedelta(minutes=1)) == 0
    held.refresh_from_db()
    assert held.state == OutboxState.FAILED
    assert "look in Sent" in held.error
    with pytest.raises(SendError):
        outbox_cancel(outbox=held)


def test_a_scheduled_send_waits_is_listed_and_can_be_cancelled_or_edited(
    owner_client: Client, owner: Any, account: Any
) -> None:
    response = owner_client.post(
        reverse("mail:compose_send"),
        {"account": account.pk, "to": "a@example.org", "subject": "Monday", "text": "x", "send_at": "2030-01-07T09:00"},
        **JSON,
    )
    assert response.status_code == 200
    held = Outbox.objects.get()
    assert held.scheduled
    assert timezone.localtime(held.send_at).hour == 9  # the person's time zone
    assert outboxes_send_due() == 0
    listing = owner_client.get(reverse("mail:scheduled_send")).content.decode()
    assert "Monday" in listing
    edit = owner_client.post(reverse("mail:outbox_undo", args=[held.pk]))
    assert edit["Location"] == reverse("mail:compose_draft", args=[held.draft_id])
    assert "Monday" not in owner_client.get(reverse("mail:scheduled_send")).content.decode()


def test_a_time_in_the_past_is_refused(owner_client: Client, account: Any) -> None:
    response = owner_client.post(
        reverse("mail:compose_send"),
        {"account": account.pk, "to": "a@example.org", "subject": "x", "text": "x", "send_at": "2001-01-01T09:00"},
        **JSON,
    )
    assert response.status_code == 400
    assert "future" in response.json()["error"]


def test_etiquette_questions_come_first_and_can_be_dismissed_or_switched_off(
    owner_client: Client, owner: Any, account: Any
) -> None:
    many = ", ".join(f"p{i}@example.org" for i in range(11))
    fields = {"account": account.pk, "to": many, "subject": "", "text": "The report is attached."}
    asked = owner_client.post(reverse("mail:compose_send"), fields, **JSON)
    assert asked.status_code == 409
    keys = [n["key"] for n in asked.json()["nudges"]]
    assert keys == ["empty_subject", "many_recipients", "missing_attachment"]
    draft_id = asked.json()["draft"]
    sent = owner_client.post(
        reverse("mail:compose_send"), {**fields, "draft": draft_id, "dismissed": ",".join(keys)}, **JSON
    )
    assert sent.status_code == 200
    compose_preferences_update(user=owner, nudge_capitals=False)
    draft = new_draft(owner, account, to="a@example.org", subject="URGENT NOW")
    assert etiquette_nudges(draft=draft, preferences=owner.compose_preferences) == []


def test_capitals_forward_without_comment_and_large_attachment_are_noticed(
    owner: Any, account: Any, settings: Any
) -> None:
    settings.RUCHE_MAIL_ATTACHMENT_WARN_MB = 1
    draft = new_draft(owner, account, to="a@example.org", subject="READ THIS", kind="forward", text="\n-- \nOlivia\n")
    DraftAttachment.objects.create(draft=draft, filename="big.bin", size=900_000, data=b"")
    with pytest.raises(NudgesPending) as caught:
        message_send(draft=draft)
    assert [n.key for n in caught.value.nudges] == ["capitals", "forward_comment", "large_attachment"]


def test_a_message_without_recipients_is_refused(owner: Any, account: Any) -> None:
    with pytest.raises(SendError) as caught:
        message_send(draft=new_draft(owner, account))
    assert "at least one recipient" in str(caught.value)


def test_preferences_page_sets_the_undo_delay(owner_client: Client, owner: Any) -> None:
    url = reverse("mail:compose_preferences")
    assert owner_client.post(url, {"undo_seconds": "30", "nudge_empty_subject": "1"}).status_code == 302
    owner.compose_preferences.refresh_from_db()
    assert owner.compose_preferences.undo_seconds == 30
    assert owner.compose_preferences.nudge_capitals is False
    assert owner_client.post(url, {"undo_seconds": "999"}).status_code == 400
