"""Reading messages from a real Dovecot: fetched on demand, sanitised, framed, marked read on the server."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.mail.models import MailPreferences, MessageBody
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, indexed, sync

pytestmark = pytest.mark.django_db(transaction=True)

TRACKED_HTML = (
    "<p>Hello <b>Olivia</b></p><script>alert(1)</script>"
    '<img src="https://tracker.example/pixel.gif" width="1" height="1">'
    '<a href="javascript:alert(2)">click</a>'
)


@pytest.fixture
def mailbox(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    account = account_for(owner, mail_user, mailstack)
    report = email_message("Quarterly report", text="See attached.\n\n> earlier words\n-- \nSam")
    report.add_attachment(b"%PDF-1.4 tiny", maintype="application", subtype="pdf", filename="report.pdf")
    deliver(
        mailstack,
        mail_user,
        email_message("Newsletter", text="Plain version", html=TRACKED_HTML),
        report,
    )
    sync(account)
    return account


@pytest.fixture
def client(owner: Any) -> Client:
    browser = Client()
    browser.force_login(owner)
    return browser


def server_flags(mailstack: Any, mail_user: Any, subject: str) -> set[bytes]:
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("INBOX", readonly=True)
        uids = imap.search(["SUBJECT", subject])
        return set(imap.get_flags(uids)[uids[0]])


def test_opening_a_message_fetches_it_once_and_marks_it_read_on_the_server(
    client: Client, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    message = indexed(mailbox, "Quarterly report")
    assert b"\\Seen" not in server_flags(mailstack, mail_user, "Quarterly report")
    html = client.get(f"/mail/m/{message.pk}/pane").content.decode()
    assert "Quarterly report" in html
    assert '<blockquote class="quote"' in html  # the quoted line, ready to fold
    assert b"\\Seen" in server_flags(mailstack, mail_user, "Quarterly report")
    message.refresh_from_db()
    assert message.seen
    assert inbox_of(mailbox).unread == 1
    assert MessageBody.objects.filter(message=message, raw__isnull=False).exists()  # cached


def test_mark_read_on_open_can_be_turned_off(
    owner: Any, client: Client, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    MailPreferences.objects.create(user=owner, mark_read_on_open=False)
    message = indexed(mailbox, "Newsletter")
    assert client.get(f"/mail/m/{message.pk}/pane").status_code == 200
    assert b"\\Seen" not in server_flags(mailstack, mail_user, "Newsletter")


def test_html_body_is_sanitised_framed_and_remote_content_blocked(client: Client, mailbox: Any) -> None:
    message = indexed(mailbox, "Newsletter")
    pane = client.get(f"/mail/m/{message.pk}/pane").content.decode()
    assert f'src="/mail/m/{message.pk}/frame"' in pane
    assert 'sandbox="allow-same-origin allow-popups allow-popups-to-escape-sandbox"' in pane
    assert "Remote pictures in this message are blocked" in pane
    frame = client.get(f"/mail/m/{message.pk}/frame")
    body = frame.content.decode()
    assert frame["Content-Security-Policy"].startswith("default-src 'none'")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert "<b>Olivia</b>" in body
    assert "<script" not in body
    assert "javascript:" not in body
    assert "tracker.example" not in body


def test_remote_content_shown_on_request_goes_through_the_proxy(client: Client, mailbox: Any) -> None:
    message = indexed(mailbox, "Newsletter")
    body = client.get(f"/mail/m/{message.pk}/frame?remote=1").content.decode()
    assert "https://tracker.example" not in body
    assert "/mail/remote/" in body


def test_trusting_a_sender_shows_their_remote_content_from_then_on(owner: Any, client: Client, mailbox: Any) -> None:
    message = indexed(mailbox, "Newsletter")
    client.post(f"/mail/m/{message.pk}/trust-sender")
    assert MailPreferences.objects.get(user=owner).remote_content_senders == ["sam@example.org"]
    pane = client.get(f"/mail/m/{message.pk}/pane").content.decode()
    assert "Remote pictures in this message are blocked" not in pane
    assert "frame?remote=1" in pane


def test_attachment_downloads_as_a_file_never_as_a_page(client: Client, mailbox: Any) -> None:
    message = indexed(mailbox, "Quarterly report")
    pane = client.get(f"/mail/m/{message.pk}/pane").content.decode()
    assert "report.pdf" in pane
    download = client.get(f"/mail/m/{message.pk}/part/2/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment")
    assert "report.pdf" in download["Content-Disposition"]
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download.content == b"%PDF-1.4 tiny"


def test_source_is_plain_text(client: Client, mailbox: Any) -> None:
    message = indexed(mailbox, "Newsletter")
    source = client.get(f"/mail/m/{message.pk}/source")
    assert source["Content-Type"] == "text/plain; charset=utf-8"
    assert b"Subject: Newsletter" in source.content


def test_a_message_deleted_by_another_client_says_so(
    client: Client, mailbox: Any, mailstack: Any, mail_user: Any
) -> None:
    message = indexed(mailbox, "Newsletter")
    with mailstack.imap(mail_user) as imap:
        imap.select_folder("INBOX")
        imap.delete_messages(imap.search(["SUBJECT", "Newsletter"]))
        imap.expunge()
    pane = client.get(f"/mail/m/{message.pk}/pane")
    assert pane.status_code == 200
    assert "no longer" in pane.content.decode()
