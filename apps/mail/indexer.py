"""The body indexer: puts the text of message bodies into the search index, in the background.

The sync indexes headers only (fast: the first screen within seconds). This service then reads
bodies, newest first, and stores their plain text in MessageBody.text; the full-text triggers of
migration 0004 put it in the search index. Until a message's body is indexed, search asks the
server for it (apps.mail.search).

What is fetched: the first PARTIAL_BYTES (128 KiB) of each message, 50 messages per FETCH
(`BODY.PEEK[]<0.N>`: one round trip per batch, never setting \\Seen). The readable text of mail
sits before its attachments, so the start of a message is enough for search; a message that fits
whole is also kept as the reading cache (`raw`, up to RUCHE_MAIL_BODY_CACHE_MAX), so opening it
later costs no round trip. A body already cached by the reader is parsed from the cache, never
fetched again, and its `raw` is never overwritten. The text is what the reader shows
(apps.mail.mime.message_text: the same body parts, HTML as text, without the sanitiser's cost)
plus the attachments' names, capped at TEXT_MAX characters.

Idempotent and resumable: each batch is one transaction that writes the bodies and sets
Message.body_indexed; a worker killed mid-run leaves the index at the last batch. One worker per
account at a time (a Redis lock), bounded work per call; paused accounts are skipped.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from apps.core.redis import held_lock, key
from apps.mail import mime
from apps.mail.imap import ImapConnection, ImapFolderError, ImapSettings
from apps.mail.models import Folder, MailAccount, Message, MessageBody
from apps.mail.sync_tree import folder_rows_lock

log = logging.getLogger(__name__)

PARTIAL_BYTES = 128 * 1024  # fetched per message: the text, not the attachments after it
BATCH = 50  # messages per FETCH (at most ~6.4 MB per round trip)
TEXT_MAX = 200_000  # characters of text kept per message (the PostgreSQL index reads as many)
DEFAULT_LIMIT = 500  # messages per call
DEFAULT_SECONDS = 120.0  # and at most this long per call: the task's time limit is far above
LOCK_TTL = 300  # seconds; renewed after each batch


class BodiesIndexBusy(Exception):  # noqa: N818 - a state, not a failure
    """Another worker is indexing this account's bodies right now."""


@dataclass
class BodiesIndexResult:
    account_id: int
    indexed: int = 0  # bodies whose text is now searchable
    gone: int = 0  # messages no longer on the server (the next sync drops them)
    remaining: int = 0  # messages of the account still waiting
    skipped: bool = False  # the account is paused


def bodies_index(*, account_id: int, limit: int = DEFAULT_LIMIT, seconds: float = DEFAULT_SECONDS) -> BodiesIndexResult:
    """Indexes up to `limit` bodies of the account, newest first. Raises BodiesIndexBusy or ImapError."""
    account = MailAccount.objects.get(pk=account_id)
    result = BodiesIndexResult(account_id=account_id)
    if account.sync_paused:
        result.skipped = True
        result.remaining = bodies_pending_count(account_id=account_id)
        return result
    deadline = time.monotonic() + seconds
    skipped_folders: set[int] = set()  # gone from the server since the last sync
    with bodies_index_lock(account_id) as keepalive, ExitStack() as stack:
        connection: ImapConnection | None = None

        def imap() -> ImapConnection:
            # Opened only when something must be fetched: bodies cached by the reader need none.
            nonlocal connection
            if connection is None:
                connection = stack.enter_context(ImapConnection(ImapSettings.for_account(account)))
            return connection

        done = 0
        while done < limit and time.monotonic() < deadline:
            pending = (
                Message.objects.filter(account_id=account_id, body_indexed=False)
                .exclude(folder_id__in=skipped_folders)
                .order_by("-sort_date", "-id")
                .values_list("id", "folder_id", "uid")[: min(BATCH, limit - done)]
            )
            rows = list(pending)
            if not rows:
                break
            by_folder: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for message_id, folder_id, uid in rows:
                by_folder[folder_id].append((message_id, uid))
            for folder_id, messages in by_folder.items():
                try:
                    indexed, gone = _index_folder_batch(folder_id, messages, imap)
                except ImapFolderError:
                    log.info("folder %s of account %s vanished; its bodies wait for the sync", folder_id, account_id)
                    skipped_folders.add(folder_id)
                    continue
                result.indexed += indexed
                result.gone += gone
            done += len(rows)
            keepalive()
    result.remaining = bodies_pending_count(account_id=account_id)
    return result


@contextmanager
def bodies_index_lock(account_id: int) -> Iterator[Callable[[], None]]:
    """Holds the account's indexer lock (Redis, with expiry); yields a function that renews it."""
    what = f"the body indexing of account {account_id}"
    with held_lock(key("mail", "bodies", account_id), ttl=LOCK_TTL, busy=BodiesIndexBusy, what=what) as keepalive:
        yield keepalive


def bodies_pending_count(*, account_id: int) -> int:
    """Messages of the account whose body text is not in the search index yet."""
    return Message.objects.filter(account_id=account_id, body_indexed=False).count()


def bodies_pending(*, account_id: int) -> bool:
    return Message.objects.filter(account_id=account_id, body_indexed=False).exists()


# ---------------------------------------------------------------- one batch of one folder
def _index_folder_batch(
    folder_id: int, messages: list[tuple[int, int]], imap: Callable[[], ImapConnection]
) -> tuple[int, int]:
    """Indexes these (message id, uid) of one folder; returns (indexed, gone)."""
    ids = [message_id for message_id, _uid in messages]
    cached = dict(MessageBody.objects.filter(message_id__in=ids, raw__isnull=False).values_list("message_id", "raw"))
    to_fetch = {uid: message_id for message_id, uid in messages if message_id not in cached}
    fetched: dict[int, tuple[bytes, bool]] = {}  # message id → (bytes, complete)
    if to_fetch:
        folder_name = Folder.objects.filter(pk=folder_id).values_list("name", flat=True).first()
        if folder_name is None:
            raise ImapFolderError("deleted by the sync meanwhile, with its messages")
        for body in imap().fetch_bodies(folder_name, sorted(to_fetch), max_bytes=PARTIAL_BYTES):
            if body.uid in to_fetch:
                fetched[to_fetch[body.uid]] = (body.data, body.complete)
    texts: dict[int, str] = {}
    keep_raw: dict[int, bytes] = {}
    for message_id, raw in cached.items():
        texts[message_id] = body_text(bytes(raw or b""))
    for message_id, (data, complete) in fetched.items():
        texts[message_id] = body_text(data)
        if complete and len(data) <= settings.RUCHE_MAIL_BODY_CACHE_MAX:
            keep_raw[message_id] = data
    return _store(folder_id, ids, texts, keep_raw)


def _store(folder_id: int, ids: list[int], texts: dict[int, str], keep_raw: dict[int, bytes]) -> tuple[int, int]:
    with transaction.atomic():
        # The folder's lock: the sync never deletes these messages while their bodies are written.
        folder_rows_lock(folder_ids=[folder_id])
        present = set(
            Message.objects.filter(pk__in=ids, folder_id=folder_id, body_indexed=False).values_list("pk", flat=True)
        )
        bodies = [
            MessageBody(message_id=message_id, text=text, raw=keep_raw.get(message_id))
            for message_id, text in texts.items()
            if message_id in present
        ]
        # A body row the reader made meanwhile keeps its `raw`: only the text is written into it.
        MessageBody.objects.bulk_create(
            bodies, update_conflicts=True, unique_fields=["message"], update_fields=["text", "fetched_at"]
        )
        # Messages the server no longer has are marked too (with no body): the sync drops them soon.
        Message.objects.filter(pk__in=present).update(body_indexed=True)
    indexed = len(bodies)
    return indexed, len(present) - indexed


def body_text(raw: bytes) -> str:
    """The searchable text of a message (or of its first bytes): body text and attachment names."""
    try:
        text = mime.message_text(raw)
    except Exception:  # it is meant never to raise; a bug in it must not stop the indexer
        log.exception("unreadable message body while indexing")
        return ""
    # PostgreSQL text holds neither NUL nor lone surrogates.
    text = text[:TEXT_MAX].replace("\x00", " ")
    return text.encode("utf-8", "replace").decode("utf-8").strip()
