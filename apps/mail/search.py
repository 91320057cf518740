"""Mail search: a query language over the index, answered by the database's full-text engine.

    invoice from:alice to:bob subject:"weekly report" has:attachment is:unread is:flagged
    before:2026-01-31 after:2025-12-01 in:sent

Free words match subject, people and (once indexed) bodies, as prefixes so results come as
you type. Operators narrow with ordinary indexed columns. PostgreSQL answers words with its
tsvector index, SQLite with FTS5 (see migration 0004_search_index).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from apps.mail.models import Folder, Message

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 8


@dataclass
class SearchQuery:
    words: list[str] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    has_attachment: bool = False
    unread: bool | None = None
    flagged: bool | None = None
    before: date | None = None
    after: date | None = None
    folder: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.words
            or self.senders
            or self.recipients
            or self.subjects
            or self.has_attachment
            or self.unread is not None
            or self.flagged is not None
            or self.before
            or self.after
            or self.folder
        )


def parse_query(text: str) -> SearchQuery:
    """Reads the query language; what it cannot read is kept as words and reported in `problems`."""
    query = SearchQuery()
    try:
        tokens = shlex.split(text[:500], posix=True)
    except ValueError:  # an unbalanced quote: read it word by word
        tokens = text[:500].replace('"', " ").split()
    for token in tokens:
        name, sep, value = token.partition(":")
        if not (sep and value and _apply_operator(query, name.lower(), value)):
            query.words.extend(_WORD.findall(token))
    query.words = query.words[:MAX_WORDS]
    return query


_FLAGS = {
    "unread": ("unread", True),
    "read": ("unread", False),
    "flagged": ("flagged", True),
    "starred": ("flagged", True),
    "unflagged": ("flagged", False),
}


def _apply_operator(query: SearchQuery, name: str, value: str) -> bool:
    """Applies `name:value`; False when it is not an operator (then it is searched as words)."""
    lowered = value.lower()
    if name == "from":
        query.senders.append(value)
    elif name in ("to", "cc"):
        query.recipients.append(value)
    elif name == "subject":
        query.subjects.append(value)
    elif name == "in":
        query.folder = value
    elif name == "has" and lowered in ("attachment", "attachments"):
        query.has_attachment = True
    elif name == "is" and lowered in _FLAGS:
        attribute, flag = _FLAGS[lowered]
        setattr(query, attribute, flag)
    elif name in ("before", "after"):
        try:
            setattr(query, name, date.fromisoformat(value))
        except ValueError:
            query.problems.append(f"{name}:{value}")
    else:
        return False
    return True


def search_messages(*, folders: QuerySet[Folder], query: SearchQuery, limit: int = 50) -> list[Message]:
    """Messages of these folders (already scoped to one user) matching the query, newest first."""
    messages = Message.objects.filter(folder__in=folders)
    if query.folder:
        wanted = query.folder.lower()
        messages = messages.filter(Q(folder__role=wanted) | Q(folder__name__iexact=query.folder))
    for sender in query.senders:
        messages = messages.filter(Q(from_address__icontains=sender) | Q(from_name__icontains=sender))
    for recipient in query.recipients:
        messages = messages.annotate(_to_text=Cast("to", TextField()), _cc_text=Cast("cc", TextField())).filter(
            Q(_to_text__icontains=recipient) | Q(_cc_text__icontains=recipient)
        )
    for subject in query.subjects:
        messages = messages.filter(subject__icontains=subject)
    if query.has_attachment:
        messages = messages.filter(has_attachments=True)
    if query.unread is not None:
        messages = messages.filter(seen=not query.unread)
    if query.flagged is not None:
        messages = messages.filter(flagged=query.flagged)
    if query.before:
        messages = messages.filter(sort_date__lt=_day_start(query.before))
    if query.after:
        messages = messages.filter(sort_date__gte=_day_start(query.after))
    if query.words:
        messages = _matching_words(messages, query.words)
    return list(messages.select_related("folder", "thread").order_by("-sort_date", "-id")[:limit])


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _matching_words(messages: QuerySet[Message], words: list[str]) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        # Every word as a prefix, all required; answered by the GIN index on search_document.
        tsquery = " & ".join(f"{_pg_lexeme(w)}:*" for w in words)
        matches = RawSQL(
            "mail_message.search_document @@ to_tsquery('ruche_search', %s)", [tsquery], output_field=BooleanField()
        )
        return messages.alias(words_match=matches).filter(words_match=True)
    match = " AND ".join(f'"{w.replace(chr(34), "")}"*' for w in words)
    return messages.filter(id__in=RawSQL("SELECT rowid FROM mail_message_fts WHERE mail_message_fts MATCH %s", [match]))


def _pg_lexeme(word: str) -> str:
    # Inside to_tsquery, quote the word so no character of it is read as an operator.
    return "'" + word.lower().replace("'", "").replace("\\", "") + "'"
