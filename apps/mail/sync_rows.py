"""Index rows: one FETCHed message (flags, size, dates, the HEADER.FIELDS block, BODYSTRUCTURE)
turned into the values of one `mail_message` row, in MESSAGE_COLUMNS order.

Pure and private to the sync engine (apps/mail/sync.py), which bulk-inserts these rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from apps.mail.bulk import insert_rows
from apps.mail.headers import IndexHeaders, clean, has_attachments, index_headers, parse_internaldate
from apps.mail.imap import FetchedHeaders
from apps.mail.models import Message
from apps.mail.threading import threads_assign, threads_refresh

# The sync engine's logger: these lines belong to its story (and its log filters).
log = logging.getLogger("apps.mail.sync")

MAX_SIZE = 2**31 - 1
MAX_KEYWORDS = 50


def _flag_fields(flags: Iterable[str]) -> tuple[Any, ...]:
    lowered = {flag.lower() for flag in flags}
    keywords = tuple(clean(flag) for flag in flags if not flag.startswith("\\"))[:MAX_KEYWORDS]
    return (
        "\\seen" in lowered,
        "\\flagged" in lowered,
        "\\answered" in lowered,
        "\\draft" in lowered,
        "\\deleted" in lowered,
        list(keywords),
    )


def _hashable(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(tuple(value) if isinstance(value, list) else value for value in values)


MESSAGE_COLUMNS = (
    "account",
    "folder",
    "uid",
    "modseq",
    "message_id",
    "in_reply_to",
    "references",
    "subject",
    "from_name",
    "from_address",
    "to",
    "cc",
    "reply_to",
    "date",
    "internal_date",
    "sort_date",
    "size",
    "seen",
    "flagged",
    "answered",
    "draft",
    "deleted",
    "keywords",
    "has_attachments",
    "list_id",
    "list_unsubscribe",
    "list_unsubscribe_post",
    "spam_score",
    "spam_flag",
    "thread",  # last: set by threads_assign
)


class IndexEntry:
    """One message about to be indexed: what threading reads, and the row's values (MESSAGE_COLUMNS)."""

    __slots__ = ("in_reply_to", "message_id", "references", "row", "seen", "sort_date", "subject", "thread_id", "uid")

    def __init__(
        self, *, uid: int, headers: IndexHeaders, sort_date: datetime, seen: bool, row: tuple[Any, ...]
    ) -> None:
        self.uid = uid
        self.seen = seen
        self.message_id = headers.message_id
        self.in_reply_to = headers.in_reply_to
        self.references = headers.references
        self.subject = headers.subject
        self.sort_date = sort_date
        self.thread_id: int | None = None
        self.row = row

    def values(self) -> tuple[Any, ...]:
        return (*self.row, self.thread_id)


def _entry_from(account_id: int, folder_id: int, item: FetchedHeaders, now: datetime) -> IndexEntry:
    try:
        headers = index_headers(item.header)
    except Exception:  # the parser is meant never to raise; a bug in it must not stop a sync
        log.exception("unreadable headers in message %s of folder %s", item.uid, folder_id)
        headers = IndexHeaders()
    internal_date = parse_internaldate(item.internal_date)
    sort_date = headers.date or internal_date or now
    seen, flagged, answered, draft, deleted, keywords = _flag_fields(item.flags)
    row = (
        account_id,
        folder_id,
        item.uid,
        item.modseq,
        headers.message_id,
        headers.in_reply_to,
        headers.references,
        headers.subject,
        headers.from_name,
        headers.from_address,
        headers.to,
        headers.cc,
        headers.reply_to,
        headers.date,
        internal_date,
        sort_date,
        min(max(item.size, 0), MAX_SIZE),
        seen,
        flagged,
        answered,
        draft,
        deleted,
        keywords,
        has_attachments(item.bodystructure),
        headers.list_id,
        headers.list_unsubscribe,
        headers.list_unsubscribe_post,
        headers.spam_score,
        headers.spam_flag,
    )
    return IndexEntry(uid=item.uid, headers=headers, sort_date=sort_date, seen=seen, row=row)


def entries_insert(*, account_id: int, entries: Sequence[IndexEntry]) -> None:
    """Writes new index rows (none of them already indexed) with their threads, in the caller's transaction."""
    thread_ids = threads_assign(account_id=account_id, messages=entries)
    insert_rows(Message, MESSAGE_COLUMNS, [entry.values() for entry in entries])
    threads_refresh(thread_ids=thread_ids)
