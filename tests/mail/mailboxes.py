"""A real mailbox, filled and indexed: a fresh Dovecot user, its MailAccount, messages, a sync."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from apps.mail.models import Folder, MailAccount, Message
from apps.mail.services import mail_account_create
from apps.mail.sync import account_sync


def account_for(owner: Any, mail_user: Any, mailstack: Any) -> MailAccount:
    return mail_account_create(
        owner=owner,
        email_address=mail_user.address,
        imap_password=mail_user.password,
        imap_host=mailstack.host,
        imap_port=mailstack.ports.imap,
        imap_security="none",
        smtp_host=mailstack.host,
        smtp_port=mailstack.ports.submission,
        smtp_security="none",
        sieve_port=mailstack.ports.sieve,
    )


def deliver(mailstack: Any, mail_user: Any, *messages: EmailMessage | bytes, folder: str = "INBOX") -> None:
    with mailstack.imap(mail_user) as imap:
        for message in messages:
            imap.append(folder, message if isinstance(message, bytes) else message.as_bytes())


def sync(account: MailAccount) -> None:
    account_sync(account_id=account.pk)


def indexed(account: MailAccount, subject: str) -> Message:
    return Message.objects.get(account=account, subject=subject)


def inbox_of(account: MailAccount) -> Folder:
    return Folder.objects.get(account=account, role="inbox")


def email_message(
    subject: str,
    *,
    text: str = "Hello.",
    html: str | None = None,
    sender: str = "Sam <sam@example.org>",
    to: str = "olivia@example.test",
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = "Mon, 30 Nov 2026 10:00:00 +0100"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def server_count(mailstack: Any, mail_user: Any, folder: str) -> int:
    """How many messages the server holds in a folder (asked over IMAP, not the index)."""
    with mailstack.imap(mail_user) as imap:
        return int(imap.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])


def open_inbox(new_context: Any, owner: Any, **options: Any) -> Any:
    """A browser page on the owner's inbox, once its script has added the row checkboxes."""
    from playwright.sync_api import expect

    page = new_context(owner, **options).new_page()
    page.goto("/mail/")
    expect(page.locator("html.js")).to_be_attached()
    expect(page.locator(".msg-select").first).to_be_attached()
    return page
