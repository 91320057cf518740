"""Mail search: a query language over the index, answered by the database's full-text engine.

    invoice from:alice to:bob subject:"weekly report" has:attachment is:unread is:flagged
    before:2026-01-31 after:2025-12-01 in:sent

Free words match subject, people and (once indexed) bodies, as prefixes so results come as
you type. Operators narrow with ordinary indexed columns. PostgreSQL answers words with its
tsvector index, SQLite with FTS5 (see migration 0004_search_index).

What the index does not hold yet, the server is asked for (`search_results`, within a time
budget): older messages of folders whose backfill is not done (their headers are then indexed on
the spot, so they list and open like any other), and bodies the background indexer
(apps.mail.indexer) has not read yet (UID SEARCH TEXT over those messages only).
"""

from __future__ import annotations

import logging
import re
import shlex
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import BooleanField, Q, QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from apps.mail.connections import imap_call
from apps.mail.imap import ImapConnection, ImapError, ImapFolderError, SearchCriteria
from apps.mail.imap_parse import uid_set_from
from apps.mail.models import Folder, MailAccount, Message
from apps.mail.sync_found import INDEX_UIDS_MAX, folder_index_uids

log = logging.getLogger(__name__)

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


WALK_WINDOW = 2000  # newest messages of the scope tried first by a common search


def search_messages(*, folders: QuerySet[Folder], query: SearchQuery, limit: int = 50) -> list[Message]:
    """Messages of these folders (already scoped to one user) matching the query, newest first.

    On PostgreSQL a search by words, sender, recipient or subject first tries the newest
    WALK_WINDOW messages: a common term fills the page there in a bounded number of row visits,
    whatever the planner guesses of its frequency (it guessed 32 rows for a sender of 9,000 and
    read 111k rows through the folder index). A rare term does not fill it, and the whole scope is
    then asked, where the full-text index answers it at once.
    """
    scope = list(folders.values_list("id", "account_id"))
    messages = _narrowed(folders, query, scope=scope)
    if query.words or (query.senders and connection.vendor == "postgresql"):
        messages = _matching_words(messages, query.words, senders=query.senders)
    textual = query.words or query.senders or query.recipients or query.subjects
    if textual and connection.vendor == "postgresql":
        newest = (
            Message.objects.filter(account_id__in=sorted({account_id for _, account_id in scope}))
            .order_by("-sort_date", "-id")
            .values("id")[:WALK_WINDOW]
        )
        recent = _newest(messages.filter(id__in=newest), limit)
        if len(recent) == limit:
            return recent
    return _newest(messages, limit)


# What a result row shows (the list's message_rows): the other columns stay in the database.
_RESULT_FIELDS = (
    *("account_id", "folder_id", "thread_id", "subject", "from_name", "from_address", "to", "sort_date"),
    *("seen", "flagged", "has_attachments", "folder__account_id", "folder__name", "folder__role"),
)


def _newest(messages: QuerySet[Message], limit: int) -> list[Message]:
    return list(messages.select_related("folder").only(*_RESULT_FIELDS).order_by("-sort_date", "-id")[:limit])


def _narrowed(
    folders: QuerySet[Folder], query: SearchQuery, *, scope: list[tuple[int, int]] | None = None
) -> QuerySet[Message]:
    """The messages the operators allow (everything but the free words). `scope`: the folders' (id, account id)."""
    # By account as well as by folder, as literal ids: the planner then knows which account it
    # reads and walks its (account, -sort_date) index for common words. Behind a subquery it
    # guessed, and sorted every match of the whole table (634 ms for "rep" at 100k instead of 5).
    if scope is None:
        scope = list(folders.values_list("id", "account_id"))
    account_ids = sorted({account_id for _, account_id in scope})
    messages = Message.objects.filter(account_id__in=account_ids)
    if len(scope) < Folder.objects.filter(account_id__in=account_ids).count():
        # Only when it narrows: a list of every folder tempts the planner onto the folder index.
        messages = messages.filter(folder_id__in=[folder_id for folder_id, _ in scope])
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
    return messages


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _matching_words(
    messages: QuerySet[Message], words: list[str], *, senders: list[str] | None = None
) -> QuerySet[Message]:
    if connection.vendor == "postgresql":
        # Every word as a prefix, all required; answered by the GIN index on search_document.
        # `from:` words also go to the index, restricted to the sender's weight (B); the exact
        # substring test of _narrowed then runs on the few rows the index returns.
        terms = [f"{_pg_lexeme(w)}:*" for w in words]
        for sender in senders or []:
            terms += [f"{_pg_lexeme(w)}:*B" for w in _WORD.findall(sender)]
        if not terms:
            return messages  # nothing wordy to look up: the substring filters decide alone
        tsquery = " & ".join(terms)
        matches = RawSQL(
            "mail_message.search_document @@ to_tsquery('ruche_search', %s)", [tsquery], output_field=BooleanField()
        )
        return messages.alias(words_match=matches).filter(words_match=True)
    match = " AND ".join(f'"{w.replace(chr(34), "")}"*' for w in words)
    return messages.filter(id__in=RawSQL("SELECT rowid FROM mail_message_fts WHERE mail_message_fts MATCH %s", [match]))


def _pg_lexeme(word: str) -> str:
    # Inside to_tsquery, quote the word so no character of it is read as an operator.
    return "'" + word.lower().replace("'", "").replace("\\", "") + "'"


# ---------------------------------------------------------------- what the index does not hold yet
SERVER_BUDGET = 3.0  # seconds of server searching per search, for all accounts
BODY_CHECK_MAX = 500  # messages per folder whose body is checked on the server (the newest waiting)
FIRST_RANGE = 2000  # UIDs per SEARCH below the indexed window; grows while the server is quick


@dataclass
class SearchResults:
    messages: list[Message]
    # Matches may exist that are not listed: part of the scope is neither indexed nor searched on
    # the server (time budget spent, too many matches, server unreachable, or a query the server
    # cannot answer, such as has:attachment alone).
    incomplete: bool = False
    from_server: int = 0  # listed because the server found them (the index could not, yet)


def search_results(
    *,
    folders: QuerySet[Folder],
    query: SearchQuery,
    limit: int = 50,
    ask_server: bool = True,
    budget: float = SERVER_BUDGET,
) -> SearchResults:
    """Like search_messages, and asks the server about what the index does not hold yet.

    Costs nothing more once every folder is backfilled and every body indexed. Otherwise at most
    `budget` seconds of UID SEARCH (a command in flight is let finish), after which the results
    say they may be incomplete.
    """
    found = search_messages(folders=folders, query=query, limit=limit)
    if query.empty or not ask_server:
        return SearchResults(messages=found)
    scope = _scope(folders, query)
    criteria = _server_criteria(query)
    behind = list(scope.filter(backfill_done=False, selectable=True))
    if criteria is None:
        return SearchResults(messages=found, incomplete=bool(behind))
    never_synced = any(folder.uidvalidity is None for folder in behind)
    # Words in bodies not indexed yet: only the server can tell. Operators are answered by the
    # index for every message it holds.
    unread_bodies: set[int] = set()
    if query.words:
        # (By account first: the partial index of waiting bodies answers at once.)
        waiting = Message.objects.filter(
            account_id__in=scope.values("account_id"), folder__in=scope, body_indexed=False
        )
        unread_bodies = set(waiting.values_list("folder_id", flat=True).distinct())
    # Below the window, older messages: not worth it when the index already filled the page.
    headers_behind = {f.pk for f in behind if f.uidvalidity is not None} if len(found) < limit else set()
    work: dict[int, list[Folder]] = defaultdict(list)
    for folder in scope.select_related("account").filter(pk__in=unread_bodies | headers_behind):
        work[folder.account_id].append(folder)
    if not work:
        return SearchResults(messages=found, incomplete=len(found) < limit and bool(behind))

    search = _ServerSearch(criteria=criteria, deadline=clock.monotonic() + budget, headers_behind=headers_behind)
    for account_folders in work.values():
        search.account(account_folders[0].account, account_folders)
    shown = {message.pk for message in found}
    extra = _newest(_narrowed(folders, query).filter(pk__in=search.hits - shown), limit)
    merged = sorted(found + extra, key=lambda m: (m.sort_date, m.pk), reverse=True)[:limit]
    return SearchResults(
        messages=merged,
        incomplete=search.incomplete or never_synced,
        from_server=len({m.pk for m in merged} - shown),
    )


def _scope(folders: QuerySet[Folder], query: SearchQuery) -> QuerySet[Folder]:
    if not query.folder:
        return folders
    return folders.filter(Q(role=query.folder.lower()) | Q(name__iexact=query.folder))


def _server_criteria(query: SearchQuery) -> SearchCriteria | None:
    """The query as the server can answer it (a superset: the index narrows the answer); None if it cannot."""
    answerable = (
        query.words
        or query.senders
        or query.recipients
        or query.subjects
        or query.unread is not None
        or query.flagged is not None
        or query.before
        or query.after
    )
    if not answerable:
        return None
    # The server compares the Date header's own day, the index an instant in our time zone:
    # one day of margin on each side, the index drops what is outside.
    return SearchCriteria(
        words=tuple(query.words),
        senders=tuple(query.senders),
        recipients=tuple(query.recipients),
        subjects=tuple(query.subjects),
        unseen=query.unread,
        flagged=query.flagged,
        sent_before=query.before + timedelta(days=1) if query.before else None,
        sent_since=query.after - timedelta(days=1) if query.after else None,
    )


@dataclass
class _ServerSearch:
    criteria: SearchCriteria
    deadline: float
    headers_behind: set[int]
    hits: set[int] = field(default_factory=set)  # Message ids
    incomplete: bool = False

    def account(self, account: MailAccount, folders: list[Folder]) -> None:
        if self._late():
            return
        try:
            imap_call(account, lambda imap: self._folders(imap, folders))
        except ImapError as exc:
            log.info("server search of mail account %s failed: %s", account.pk, exc)
            self.incomplete = True

    def _late(self) -> bool:
        if clock.monotonic() >= self.deadline:
            self.incomplete = True
            return True
        return False

    def _folders(self, imap: ImapConnection, folders: list[Folder]) -> None:
        for folder in folders:
            if self._late():
                return
            try:
                state = imap.select(folder.name, readonly=True)
            except ImapFolderError:
                self.incomplete = True  # gone from the server: the next sync drops it
                continue
            if folder.uidvalidity is not None and state.uidvalidity != folder.uidvalidity:
                self.incomplete = True  # the next sync rebuilds this folder
                continue
            self._unread_bodies(imap, folder)
            if folder.pk in self.headers_behind and folder.uidvalidity is not None:
                self._below_window(imap, folder, state.uidnext)

    def _unread_bodies(self, imap: ImapConnection, folder: Folder) -> None:
        """Indexed messages whose body is not: does it hold the words? (The newest BODY_CHECK_MAX.)"""
        if not self.criteria.words:
            return
        waiting = list(
            Message.objects.filter(account_id=folder.account_id, folder=folder, body_indexed=False)
            .order_by("-sort_date", "-id")
            .values_list("uid", "id")[: BODY_CHECK_MAX + 1]
        )
        if not waiting:
            return
        if len(waiting) > BODY_CHECK_MAX:
            self.incomplete = True
            waiting = waiting[:BODY_CHECK_MAX]
        ids = dict(waiting)
        for uid in imap.search(folder.name, replace(self.criteria, uids=uid_set_from(ids))):
            if uid in ids:
                self.hits.add(ids[uid])

    def _below_window(self, imap: ImapConnection, folder: Folder, uidnext: int | None) -> None:
        """Messages not indexed at all (older than the backfill reached): searched by UID ranges,
        newest first, then indexed on the spot (at most INDEX_UIDS_MAX per folder)."""
        top = (folder.backfill_below or uidnext or 1) - 1
        size = FIRST_RANGE
        matched: list[int] = []
        while top >= 1:
            if self._late():
                break
            low = max(1, top - size + 1)
            started = clock.monotonic()
            matched += imap.search(folder.name, replace(self.criteria, uids=f"{low}:{top}"))
            if len(matched) >= INDEX_UIDS_MAX:
                if len(matched) > INDEX_UIDS_MAX or low > 1:
                    self.incomplete = True
                break
            if clock.monotonic() - started < 0.1:
                size *= 4  # a quick answer: ask for a wider range next time
            top = low - 1
        if matched:
            self.hits.update(
                folder_index_uids(folder=folder, imap=imap, uids=matched, uidvalidity=folder.uidvalidity or 0)
            )
