"""Rows of the mail index made directly (for tests of reads: lists, threads, search)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from apps.core.crypto import encrypt_secret
from apps.mail.models import Folder, MailAccount, Message, MessageBody, Thread

_uids = count(1)
BASE_DATE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_account(owner: Any, address: str | None = None) -> MailAccount:
    return MailAccount.objects.create(
        owner=owner,
        email_address=address or f"{owner.username}@example.test",
        imap_host="127.0.0.1",
        imap_port=1,
        imap_security="none",
        imap_username=owner.username,
        imap_password=encrypt_secret("unused"),
    )


def make_folder(account: MailAccount, name: str = "INBOX", role: str = "inbox") -> Folder:
    return Folder.objects.create(account=account, name=name, role=role, delimiter="/", uidvalidity=1)


def make_message(folder: Folder, *, days_ago: float = 0, body: str | None = None, **fields: Any) -> Message:
    uid = next(_uids)
    when = BASE_DATE - timedelta(days=days_ago)
    defaults: dict[str, Any] = {
        "subject": f"Message {uid}",
        "from_name": "Sam Sender",
        "from_address": "sam@example.org",
        "to": [["Olivia Owner", "olivia@example.test"]],
        "sort_date": when,
        "date": when,
        "internal_date": when,
        "size": 1000,
    }
    defaults.update(fields)
    thread = defaults.pop("thread", None)
    message = Message.objects.create(account=folder.account, folder=folder, uid=uid, thread=thread, **defaults)
    if body is not None:
        MessageBody.objects.create(message=message, text=body)
    return message


def make_thread(account: MailAccount, subject: str = "A conversation") -> Thread:
    return Thread.objects.create(account=account, subject=subject)
