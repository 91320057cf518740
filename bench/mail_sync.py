"""Mail sync benchmark (a script, not a test): how close Ruche's sync comes to the raw IMAP limit.

    .venv/bin/python bench/mail_sync.py [--n 10000] [--database-url postgres://postgres@127.0.0.1/ruche_bench]

It starts a private Dovecot + Postfix (deploy/mailstack, as the tests do; root needed) or uses
a running one (--mailstack DIR), fills a fresh mailbox with N generated, realistic messages by
MULTIAPPEND, then measures in the same run:

* the raw imapclient header FETCH rate of the fields the index needs (the limit);
* Ruche's initial sync into the database with one worker (apps.mail.sync.account_sync), and the
  time until the first batch is visible;
* a no-change incremental sync.

Each figure is printed with its ratio to the limit. The database is a fresh SQLite file in a
temporary directory unless --database-url names one (it is flushed of mail rows first).
Still to come (issue 3): two workers, list page, message open, search, login-to-inbox.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.mailstack import MailStack, MailUser

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

FIRST_NAMES = ["Alice", "Bruno", "Chloé", "David", "Élodie", "Farid", "Greta", "Hugo", "Inès", "Jonas", "Karin", "Léo"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
DOMAINS = ["example.org", "example.net", "corp.example", "mail.example.com", "lists.example.org"]
TOPICS = [
    "Quarterly report",
    "Lunch on Friday?",
    "Réunion de projet",
    "Invoice 2026-{n}",
    "Your order has shipped",
    "Re: design review",
    "Weekly newsletter #{n}",
    "Draft contract",
    "Holiday planning",
    "Build failed on main",
]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "you",
    "that",
    "it",
    "he",
    "was",
    "for",
    "on",
    "are",
    "as",
    "with",
    "his",
    "they",
    "at",
    "be",
    "this",
    "have",
    "from",
    "or",
    "one",
    "had",
    "by",
]


def generate(count: int, user: str, seed: int = 42) -> list[bytes]:
    """Messages like a real mailbox: threads, lists, attachments, encoded names, a few spam headers."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    messages: list[bytes] = []
    recent_ids: list[tuple[str, str, str]] = []  # (message-id, references, subject)
    for n in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        sender = f"{first.lower()}.{last.lower()}@{rng.choice(DOMAINS)}"
        message = EmailMessage()
        message["From"] = f"{first} {last} <{sender}>"
        message["To"] = user if rng.random() < 0.8 else f"{user}, team@corp.example"
        if rng.random() < 0.2:
            message["Cc"] = f"{rng.choice(FIRST_NAMES)} <cc{n}@example.net>"
        message_id = f"<bench.{n}.{seed}@{DOMAINS[n % len(DOMAINS)]}>"
        if recent_ids and rng.random() < 0.3:
            parent_id, parent_refs, parent_subject = rng.choice(recent_ids[-50:])
            message["Subject"] = "Re: " + parent_subject.removeprefix("Re: ")
            message["In-Reply-To"] = parent_id
            message["References"] = f"{parent_refs} {parent_id}".strip()
        else:
            message["Subject"] = rng.choice(TOPICS).format(n=n)
        message["Date"] = format_datetime(start + timedelta(minutes=7 * n))
        message["Message-ID"] = message_id
        if rng.random() < 0.15:
            message["List-Id"] = "Weekly news <news.lists.example.org>"
            message["List-Unsubscribe"] = "<https://lists.example.org/u/123>, <mailto:leave@lists.example.org>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if rng.random() < 0.05:
            message["X-Spam-Status"] = "Yes, score=7.2 required=5.0 tests=BAYES_99"
            message["X-Spam-Flag"] = "YES"
        body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(150, 450)))
        message.set_content(body)
        if rng.random() < 0.1:
            message.add_attachment(rng.randbytes(600), "application", "pdf", filename="f.pdf")
        recent_ids.append((message_id, str(message.get("References", "")), str(message["Subject"])))
        messages.append(message.as_bytes())
    return messages


def setup_django(database_url: str | None, data_dir: Path) -> None:
    os.environ.setdefault("RUCHE_DATA_DIR", str(data_dir))
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{data_dir / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "groupware.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def raw_fetch_rate(stack: MailStack, user: MailUser, count: int) -> float:
    """imapclient FETCH of the index fields in batches of UID lists (imapclient 4 refuses "1:*")."""
    from apps.mail.imap import INDEX_HEADER_FIELDS

    client = stack.imap(user)
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search("ALL")
        fields = [
            "UID",
            "FLAGS",
            "MODSEQ",
            "RFC822.SIZE",
            "INTERNALDATE",
            "BODYSTRUCTURE",
            f"BODY.PEEK[HEADER.FIELDS ({INDEX_HEADER_FIELDS})]",
        ]
        best = float("inf")
        for _round in range(2):  # the first round warms Dovecot's caches
            started = time.perf_counter()
            fetched = 0
            for start in range(0, len(uids), 2000):
                fetched += len(client.fetch(uids[start : start + 2000], fields))
            best = min(best, time.perf_counter() - started)
            assert fetched == count, fetched
        return count / best
    finally:
        client.logout()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="messages to generate (default 10000)")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--mailstack", default=None, help="a running mail stack's directory (mailstack.env)")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="ruche-bench-"))
    setup_django(args.database_url, data_dir)

    from tests import mailstack as harness

    own_stack = args.mailstack is None
    if own_stack:
        stack_dir = Path(tempfile.mkdtemp(prefix="rmst-", dir="/tmp"))
        stack_dir.chmod(0o755)
        stack = harness._start(stack_dir)
    else:
        stack_dir = Path(args.mailstack)
        values = harness._read_env(stack_dir / "mailstack.env")
        ports = harness.MailPorts(
            imap=int(values["IMAP_PORT"]),
            smtp=int(values["SMTP_PORT"]),
            submission=int(values["SUBMISSION_PORT"]),
            sieve=int(values["SIEVE_PORT"]),
            lmtp=int(values["LMTP_PORT"]),
            auth=int(values.get("AUTH_PORT", "0")),
        )
        stack = harness.MailStack(dir=stack_dir, ports=ports, domain=values["MAIL_DOMAIN"], users={})
    try:
        run(stack, args.n, args.database_url)
    finally:
        if own_stack:
            harness._stop(stack_dir)
            shutil.rmtree(stack_dir, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)


def run(stack: MailStack, count: int, database_url: str | None) -> None:
    from django.db import connection

    from apps.accounts.models import User
    from apps.mail.models import Folder, MailAccount, Message, Thread
    from apps.mail.services import mail_account_create
    from apps.mail.sync import FIRST_BATCH, account_sync

    user = stack.add_user()
    print(f"database: {connection.vendor}; messages: {count:,}; mailbox: {user.address}")

    started = time.perf_counter()
    messages = generate(count, user.address)
    generated = time.perf_counter() - started
    client = stack.imap(user)
    started = time.perf_counter()
    for start in range(0, len(messages), 500):
        client.multiappend("INBOX", messages[start : start + 500])
    client.logout()
    filled = time.perf_counter() - started
    size = sum(len(m) for m in messages) / len(messages)
    print(f"generated in {generated:.1f} s (avg {size / 1024:.1f} KB), MULTIAPPEND {count / filled:,.0f} msg/s")

    limit = raw_fetch_rate(stack, user, count)
    print(f"raw imapclient header FETCH:        {limit:>9,.0f} msg/s  (the limit, 100 %)")

    owner = User.objects.create(username=f"bench-{user.local_part}")
    account = mail_account_create(
        owner=owner,
        email_address=user.address,
        imap_password=user.password,
        imap_host=stack.host,
        imap_port=stack.ports.imap,
        imap_security="none",
    )
    first_visible: list[float] = []
    sync_started = time.perf_counter()

    def progress(folder: Folder, done: int, total: int) -> None:
        if folder.role == "inbox" and not first_visible and done >= min(FIRST_BATCH, total):
            first_visible.append(time.perf_counter() - sync_started)

    result = account_sync(account_id=account.pk, progress=progress)
    initial = time.perf_counter() - sync_started
    indexed = Message.objects.filter(account=account).count()
    assert indexed == count, (indexed, count)
    rate = count / initial
    print(
        f"Ruche initial sync, one worker:     {rate:>9,.0f} msg/s  ({100 * rate / limit:.0f} % of the limit; "
        f"target >= 40 %)  {initial:.2f} s, {Thread.objects.filter(account=account).count():,} threads"
    )
    print(
        f"first batch visible after:          {first_visible[0] * 1000:>9,.0f} ms  ({FIRST_BATCH} newest of the Inbox)"
    )

    timings = []
    for _round in range(5):
        started = time.perf_counter()
        again = account_sync(account_id=account.pk)
        timings.append(time.perf_counter() - started)
        assert again.added == 0
    print(
        f"no-change incremental sync:         {min(timings) * 1000:>9,.1f} ms  (best of 5; median "
        f"{sorted(timings)[2] * 1000:.1f} ms; {len(result.folders)} folders)"
    )
    if database_url:
        MailAccount.objects.filter(pk=account.pk).delete()
        owner.delete()


if __name__ == "__main__":
    main()
