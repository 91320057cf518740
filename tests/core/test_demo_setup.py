"""`manage.py demo_setup`: demo users and, against the real stack, seeded demo mailboxes."""

from __future__ import annotations

import email
import email.policy
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.core.crypto import decrypt_secret
from apps.mail.models import MailAccount
from tests.mailstack import MailStack

pytestmark = pytest.mark.django_db
INBOX_SEEDED = 6  # conversation (2), newsletter, HTML report, attachment, French message
SENT_SEEDED = 1  # the owner's reply in the conversation


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_setup", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _counts(stack: MailStack, name: str) -> tuple[int, int]:
    client = stack.imap(stack.users[name])
    try:
        inbox = client.folder_status("INBOX", [b"MESSAGES"])[b"MESSAGES"]
        sent = client.folder_status("Sent", [b"MESSAGES"])[b"MESSAGES"]
    finally:
        client.logout()
    return inbox, sent


def test_demo_users_are_created_once_with_alice_as_administrator() -> None:
    output = _run()
    _run()

    users = get_user_model().objects.filter(username__in=["alice", "bob", "carol"])
    assert users.count() == 3
    alice = users.get(username="alice")
    assert alice.is_staff
    assert alice.is_superuser
    assert alice.check_password("alice-demo")
    assert not users.get(username="bob").is_staff
    assert "alice / alice-demo" in output
    assert "Mail accounts" in output  # how to add a mail account without the demo domain


def test_an_existing_demo_user_keeps_a_changed_password() -> None:
    _run()
    bob = get_user_model().objects.get(username="bob")
    bob.set_password("changed-by-bob-1")
    bob.save()

    _run()

    bob.refresh_from_db()
    assert bob.check_password("changed-by-bob-1")


def test_demo_setup_refuses_to_run_in_production(settings) -> None:
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        _run()


def test_demo_mail_accounts_are_made_once_and_seeded_once(mailstack: MailStack) -> None:
    _run("--mailstack-env", str(mailstack.env_file))
    first = {name: _counts(mailstack, name) for name in ("alice", "bob", "carol")}
    output = _run("--mailstack-env", str(mailstack.env_file))
    second = {name: _counts(mailstack, name) for name in ("alice", "bob", "carol")}

    assert first == second == dict.fromkeys(("alice", "bob", "carol"), (INBOX_SEEDED, SENT_SEEDED))
    assert MailAccount.objects.count() == 3
    account = MailAccount.objects.get(owner__username="alice")
    assert account.imap_port == mailstack.ports.imap
    assert account.smtp_port == mailstack.ports.submission
    assert account.imap_security == "none"
    assert decrypt_secret(account.imap_password) == mailstack.users["alice"].password
    assert "alice@" in output


def test_seeded_messages_are_realistic(mailstack: MailStack) -> None:
    _run("--mailstack-env", str(mailstack.env_file))

    client = mailstack.imap(mailstack.users["carol"])
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        raw = [data[b"BODY[]"] for data in client.fetch(uids, ["BODY.PEEK[]"]).values()]
    finally:
        client.logout()
    messages = [email.message_from_bytes(item, policy=email.policy.default) for item in raw]
    by_subject = {str(m["Subject"]): m for m in messages}

    french = by_subject["Réunion d'équipe : ordre du jour de vendredi"]
    assert b"=?utf-8?" in next(r for r in raw if b"Content-Language: fr" in r)
    assert "Préparation" in french.get_content()
    assert by_subject["Hive Weekly #42: beekeeping in winter"]["List-Unsubscribe"]
    report = by_subject["Quarterly numbers are in"]
    assert report.get_body(preferencelist=("html",)) is not None
    assert report.get_body(preferencelist=("plain",)) is not None
    attachment = next(by_subject["Floor plan of the new office"].iter_attachments())
    assert attachment.get_content_type() == "image/png"
    assert attachment.get_content().startswith(b"\x89PNG")
    reply = by_subject["Re: Lunch on Thursday?"]
    assert reply["In-Reply-To"]
    assert by_subject["Lunch on Thursday?"]["Message-ID"] in reply["References"]


def test_a_broken_mailstack_env_is_reported(tmp_path) -> None:
    env = tmp_path / "mailstack.env"
    env.write_text("IMAP_PORT=1\n")

    with pytest.raises(CommandError, match="MAIL_DOMAIN"):
        _run("--mailstack-env", str(env))
