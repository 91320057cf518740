"""Send benchmark (a script, not a test): Ruche's send service against raw SMTP, on a real Postfix + Dovecot.

    # SQLite (a fresh file in a temporary directory), 200 sends:
    .venv/bin/python bench/mail_send.py
    # PostgreSQL (created afresh and dropped at the end; the name must contain "bench"):
    .venv/bin/python bench/mail_send.py --database-url postgres://postgres@127.0.0.1:5432/ruche_sendbench

Needs root (it starts a private Dovecot + Postfix from deploy/mailstack, as the tests and
bench/mail_sync.py do; --mailstack DIR uses a running one) and Redis (REDIS_URL; keys under a
private prefix, removed at the end: the send tasks message_send queues land there and no worker
reads them).

Ruche's "send" is what the Send button reaches, minus the undo delay (set to 0 s): a draft row
(`drafts.draft_create`), `outbox.message_send` (etiquette checks, MIME build, size check, the
Outbox row and its task queued on commit), then `outbox.outbox_deliver` — the function the task
runs: submission on the account's SMTP port with its credentials, the \\Seen copy APPENDed to
Sent and Sent synced into the index, the draft removed. The raw baseline is
`smtplib.SMTP(submission)`: login, `send_message`, quit — one connection per message, as Ruche does.

Measured in one run, each Ruche figure beside the raw one:

* per message (sent one at a time, raw and Ruche alternating): the time from "send" to (a) the
  message in the sender's Sent folder in Ruche's index and (b) in the recipient's Inbox in Ruche's
  index, brought there by `apps.mail.sync.folder_sync` on the recipient's Inbox, called in a loop
  by a thread (the function the push process runs when IDLE says EXISTS; IDLE itself is not used:
  `push.AccountWatcher` can miss an EXISTS the server sends together with "+ idling" — imapclient
  leaves it in its read buffer — and then waits for the next server output). Raw: the time
  from `send_message` to the message visible over IMAP in the recipient's INBOX (an imapclient
  polling with NOOP + UID SEARCH every few milliseconds). Both sides are seen by pollers (the
  index by a thread querying the database, the raw INBOX by that imapclient) that stamp each
  Message-ID when it first shows up;
* throughput over N back-to-back sends (default 200): sends per second (the sending loop alone)
  and delivered per second (first send to the N-th message visible in the recipient's Inbox:
  Ruche's index, or the raw INBOX), with p50/p95 of the per-message times under that load.

Ratios are Ruche / raw: above 1x is the cost of Ruche's work on top of the submission.
"""

from __future__ import annotations

import argparse
import secrets
import smtplib
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from mail_sync import (  # noqa: E402 - the path above makes the sibling script importable
    bench_session,
    ms,
    percentile,
)

if TYPE_CHECKING:
    from apps.mail.models import MailAccount
    from tests.mailstack import MailStack, MailUser

POLL_SECONDS = 0.003
VISIBLE_TIMEOUT = 60.0


def bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


# ---------------------------------------------------------------- pollers
class Poller(threading.Thread):
    """Stamps each expected Message-ID with the time it first becomes visible (time.perf_counter)."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.seen: dict[str, float] = {}
        self.stop_event = threading.Event()
        self.error: BaseException | None = None

    def wait_for(self, ids: list[str], timeout: float = VISIBLE_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not all(i in self.seen for i in ids):
            if self.error is not None:
                raise RuntimeError(f"{self.name} failed") from self.error
            if time.monotonic() > deadline:
                missing = [i for i in ids if i not in self.seen]
                raise AssertionError(f"{self.name}: {len(missing)} message(s) never became visible, e.g. {missing[0]}")
            time.sleep(POLL_SECONDS)

    def run(self) -> None:
        try:
            self.watch()
        except BaseException as exc:  # reported to the waiting thread
            self.error = exc

    def watch(self) -> None:
        raise NotImplementedError


class IndexPoller(Poller):
    """Ruche's index: Message rows of one folder, by Message-ID."""

    def __init__(self, name: str, folder_id: int) -> None:
        super().__init__(name)
        self.folder_id = folder_id

    def watch(self) -> None:
        from django.db import connection

        from apps.mail.models import Message

        last = 0
        try:
            while not self.stop_event.is_set():
                rows = Message.objects.filter(folder_id=self.folder_id, pk__gt=last).values_list("pk", "message_id")
                now = time.perf_counter()
                for pk, message_id in rows:
                    last = max(last, pk)
                    self.seen.setdefault(message_id, now)
                time.sleep(POLL_SECONDS)
        finally:
            connection.close()


class FolderSyncLoop(threading.Thread):
    """Polls folder_sync on one folder, as fast as it returns (a few ms apart)."""

    def __init__(self, folder_id: int) -> None:
        super().__init__(name="folder_sync loop", daemon=True)
        self.folder_id = folder_id
        self.stop_event = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        from django.db import connection

        from apps.mail.sync import folder_sync

        try:
            while not self.stop_event.is_set():
                folder_sync(folder_id=self.folder_id)
                self.rounds += 1
                time.sleep(POLL_SECONDS)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stop_event.set()


class RawInboxPoller(Poller):
    """The raw baseline's eyes: an imapclient on the recipient's INBOX, NOOP + UID SEARCH of new UIDs."""

    def __init__(self, stack: MailStack, user: MailUser) -> None:
        super().__init__("raw INBOX poller")
        self.stack, self.user = stack, user

    def watch(self) -> None:
        client = self.stack.imap(self.user)
        try:
            client.select_folder("INBOX", readonly=True)
            last = 0
            while not self.stop_event.is_set():
                client.noop()
                uids = [u for u in client.search(["UID", f"{last + 1}:*"]) if u > last]
                if uids:
                    now = time.perf_counter()
                    fetched = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
                    for data in fetched.values():
                        header = data[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"].decode("ascii", "replace")
                        self.seen.setdefault(bare(header.partition(":")[2]), now)
                    last = max(uids)
                time.sleep(POLL_SECONDS)
        finally:
            client.logout()


# ---------------------------------------------------------------- the two ways of sending
@dataclass
class RawSender:
    stack: MailStack
    sender: MailUser
    recipient: MailUser

    def send(self, subject: str) -> tuple[str, float]:
        """One message by smtplib over submission; returns its Message-ID and when the send began."""
        message = EmailMessage()
        message["From"] = self.sender.address
        message["To"] = self.recipient.address
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.stack.domain)
        message.set_content(f"{subject}\n\nA line of text, as a short message would have.\n")
        started = time.perf_counter()
        with smtplib.SMTP(self.stack.host, self.stack.ports.submission, timeout=30) as client:
            client.login(self.sender.address, self.sender.password)
            client.send_message(message)
        return bare(str(message["Message-ID"])), started


@dataclass
class RucheSender:
    owner: Any
    account: MailAccount
    recipient: MailUser

    def send(self, subject: str) -> tuple[str, float]:
        """One message through the send service, as Send does with no undo delay."""
        from apps.mail.drafts import DraftContext, DraftFields, draft_create
        from apps.mail.models import OutboxState
        from apps.mail.outbox import message_send, outbox_deliver

        started = time.perf_counter()
        draft = draft_create(
            owner=self.owner,
            account=self.account,
            fields=DraftFields(
                to=self.recipient.address,
                subject=subject,
                text=f"{subject}\n\nA line of text, as a short message would have.\n",
            ),
            context=DraftContext(),
        )
        message_id = draft.message_id
        held = message_send(draft=draft)
        delivered = outbox_deliver(outbox_id=held.pk, now=held.send_at)
        held.refresh_from_db()
        if not delivered or held.state != OutboxState.SENT:
            raise AssertionError(f"not sent: {held.state} {held.error}")
        return bare(message_id), started


# ---------------------------------------------------------------- figures
@dataclass
class Table:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, label: str, ruche: str, raw: str, ratio: str) -> None:
        self.rows.append((label, ruche, raw, ratio))
        print(f"  {label:<44} {ruche:>14} {raw:>14} {ratio:>10}", flush=True)

    def text(self) -> str:
        lines = [f"  {'figure':<44} {'Ruche':>14} {'raw':>14} {'Ruche/raw':>10}"]
        lines += [f"  {a:<44} {b:>14} {c:>14} {d:>10}" for a, b, c, d in self.rows]
        return "\n".join(lines)


def latencies(sent: dict[str, float], poller: Poller) -> list[float]:
    return [poller.seen[i] - started for i, started in sent.items()]


def add_percentiles(table: Table, label: str, ruche: list[float], raw: list[float]) -> None:
    for name, fraction in (("p50", 0.5), ("p95", 0.95)):
        a, b = percentile(ruche, fraction), percentile(raw, fraction)
        table.add(f"{label} {name}", ms(a), ms(b), f"{a / b:.2f}x")


@dataclass
class Bench:
    stack: MailStack
    count: int
    samples: int
    table: Table = field(default_factory=Table)

    def run(self) -> None:
        from django.db import connection

        from apps.accounts.models import User
        from apps.mail.models import Folder
        from apps.mail.outbox import compose_preferences_update
        from apps.mail.sync import account_sync

        sender_user, ruche_rcpt, raw_rcpt = self.stack.add_user(), self.stack.add_user(), self.stack.add_user()
        owner = User.objects.create_user(username="bench-sender", password=secrets.token_urlsafe(16))
        other = User.objects.create_user(username="bench-recipient", password=secrets.token_urlsafe(16))
        account = self.account(owner, sender_user)
        recipient_account = self.account(other, ruche_rcpt)
        account_sync(account_id=account.pk)
        account_sync(account_id=recipient_account.pk)
        compose_preferences_update(user=owner, undo_seconds=0)
        sent_folder = Folder.objects.get(account=account, role="sent")
        inbox = Folder.objects.get(account=recipient_account, role="inbox")

        print(
            f"database: {connection.vendor}; {self.samples} one-at-a-time sends each way, then {self.count} "
            "back to back each way.\nRecipient's index: folder_sync polled in a loop on the recipient's Inbox "
            "(not IDLE, see the docstring); Sender's Sent: the inline folder_sync outbox_deliver does after its "
            "APPEND.\n"
        )
        watcher = FolderSyncLoop(inbox.pk)
        pollers: list[Poller] = [
            IndexPoller("Ruche Sent index", sent_folder.pk),
            IndexPoller("Ruche Inbox index", inbox.pk),
            RawInboxPoller(self.stack, raw_rcpt),
        ]
        sent_index, inbox_index, raw_inbox = pollers
        ruche = RucheSender(owner, account, ruche_rcpt)
        raw = RawSender(self.stack, sender_user, raw_rcpt)
        watcher.start()
        for poller in pollers:
            poller.start()
        try:
            for n in range(3):  # warm-up: connections, caches, Postfix's first lookups
                self.one(raw, raw_inbox, f"warm-up raw {n}")
                self.one(ruche, inbox_index, f"warm-up Ruche {n}")
            self.one_at_a_time(ruche, raw, sent_index, inbox_index, raw_inbox)
            self.back_to_back(ruche, raw, inbox_index, raw_inbox)
        finally:
            watcher.stop()
            for poller in pollers:
                poller.stop_event.set()
            watcher.join(timeout=10)
            for poller in pollers:
                poller.join(timeout=10)
        print(f"\n({watcher.rounds:,} folder_sync rounds on the recipient's Inbox)\nAll figures (Ruche / raw):")
        print(self.table.text())

    def account(self, owner: Any, user: MailUser) -> MailAccount:
        from apps.mail.services import mail_account_create

        return mail_account_create(
            owner=owner,
            email_address=user.address,
            imap_password=user.password,
            imap_host=self.stack.host,
            imap_port=self.stack.ports.imap,
            imap_security="none",
            smtp_host=self.stack.host,
            smtp_port=self.stack.ports.submission,
            smtp_security="none",
            sieve_port=self.stack.ports.sieve,
        )

    @staticmethod
    def one(sender: RawSender | RucheSender, poller: Poller, subject: str) -> None:
        message_id, _started = sender.send(subject)
        poller.wait_for([message_id])

    def one_at_a_time(
        self, ruche: RucheSender, raw: RawSender, sent_index: Poller, inbox_index: Poller, raw_inbox: Poller
    ) -> None:
        ruche_sent: dict[str, float] = {}
        raw_sent: dict[str, float] = {}
        for n in range(self.samples):
            message_id, started = raw.send(f"raw one {n}")
            raw_sent[message_id] = started
            raw_inbox.wait_for([message_id])
            message_id, started = ruche.send(f"Ruche one {n}")
            ruche_sent[message_id] = started
            sent_index.wait_for([message_id])
            inbox_index.wait_for([message_id])
        raw_times = latencies(raw_sent, raw_inbox)
        print(f"one at a time ({self.samples} each):")
        add_percentiles(self.table, "send → (a) sender's Sent in index", latencies(ruche_sent, sent_index), raw_times)
        add_percentiles(
            self.table, "send → (b) recipient's Inbox in index", latencies(ruche_sent, inbox_index), raw_times
        )

    def back_to_back(self, ruche: RucheSender, raw: RawSender, inbox_index: Poller, raw_inbox: Poller) -> None:
        rates: dict[str, tuple[float, float]] = {}
        times: dict[str, list[float]] = {}
        for name, sender, poller in (("raw", raw, raw_inbox), ("Ruche", ruche, inbox_index)):
            sent: dict[str, float] = {}
            begin = time.perf_counter()
            for n in range(self.count):
                message_id, started = sender.send(f"{name} burst {n}")
                sent[message_id] = started
            sending = time.perf_counter() - begin
            poller.wait_for(list(sent))
            visible = max(poller.seen[i] for i in sent) - begin
            rates[name] = (self.count / sending, self.count / visible)
            times[name] = latencies(sent, poller)
        print(f"\n{self.count} back to back each:")
        for index, label in ((0, "throughput: sends/s"), (1, "throughput: delivered to Inbox/s")):
            a, b = rates["Ruche"][index], rates["raw"][index]
            self.table.add(label, f"{a:,.1f} msg/s", f"{b:,.1f} msg/s", f"{a / b:.2f}x")
        add_percentiles(self.table, "under load: send → Inbox", times["Ruche"], times["raw"])
        mean = statistics.mean(times["Ruche"])
        print(f"    (Ruche mean send → recipient's index under load: {ms(mean)})")


# ---------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="back-to-back sends each way (default 200)")
    parser.add_argument("--samples", type=int, default=50, help="one-at-a-time sends each way (default 50)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL database to create, use and drop (name containing 'bench'; default: a fresh SQLite file)",
    )
    parser.add_argument("--keep-database", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--mailstack", default=None, help="a running mail stack's directory (mailstack.env)")
    args = parser.parse_args()
    if args.n < 1 or args.samples < 1:
        parser.error("--n and --samples must be at least 1")

    with bench_session(
        database_url=args.database_url,
        mailstack=args.mailstack,
        keep_database=args.keep_database,
        prefix="ruche-sendbench-",
    ) as (stack, _data_dir):
        Bench(stack=stack, count=args.n, samples=args.samples).run()


if __name__ == "__main__":
    main()
