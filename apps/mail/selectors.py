"""Reads for mail accounts, always scoped to a user."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from django.core.cache import cache
from django.db import connection, models
from django.db.models import DEFERRED, Count, Q, QuerySet
from redis.exceptions import RedisError

from apps.mail.models import Folder, FolderRole, MailAccount, MailPreferences, Message

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

_M = TypeVar("_M", bound=models.Model)


def mail_accounts_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[MailAccount]:
    if not user.is_authenticated:
        return MailAccount.objects.none()
    return MailAccount.objects.filter(owner_id=user.pk).order_by("label", "email_address")


# ---------------------------------------------------------------- folders
_ROLE_ORDER = {"inbox": 0, "drafts": 1, "sent": 2, "archive": 3, "junk": 4, "trash": 5}
# get_role_display() rebuilds the choices' dict at every call, for every folder of the rail.
_ROLE_LABELS = dict(FolderRole.choices)


@dataclass(frozen=True)
class FolderEntry:
    folder: Folder
    label: str
    depth: int


@dataclass(frozen=True)
class AccountFolders:
    account: MailAccount
    folders: list[FolderEntry]


# Only what the folder rail (and the toolbar's "Move to" menu) shows: this runs on every mailbox page.
_RAIL_ACCOUNT_FIELDS = ("id", "label", "email_address", "sync_status", "last_error", "sieve_port")
_RAIL_FOLDER_FIELDS = ("id", "name", "delimiter", "role", "subscribed", "unread", "total")


@lru_cache(maxsize=1)
def _RAIL_SQL() -> str:  # noqa: N802 - a constant, built once the models are loaded
    """The accounts of an owner left-joined to their subscribed folders, in the rail's order.

    Written out rather than built by the ORM: building this query (a FilteredRelation join) cost
    0.8 ms on every mailbox page, four times as long as running it.
    """
    quote = connection.ops.quote_name
    account = {name: quote(_column(MailAccount, name)) for name in (*_RAIL_ACCOUNT_FIELDS, "owner")}
    folder = {name: quote(_column(Folder, name)) for name in (*_RAIL_FOLDER_FIELDS, "account")}
    columns = [f"a.{account[name]}" for name in _RAIL_ACCOUNT_FIELDS] + [f"f.{folder[n]}" for n in _RAIL_FOLDER_FIELDS]
    order = ", ".join([*(f"a.{account[name]}" for name in ("label", "email_address", "id")), f"f.{folder['name']}"])
    return (
        f"SELECT {', '.join(columns)} FROM {quote(MailAccount._meta.db_table)} a "  # noqa: S608 - names, not values
        f"LEFT JOIN {quote(Folder._meta.db_table)} f ON f.{folder['account']} = a.{account['id']} "
        f"AND f.{folder['subscribed']} = %s WHERE a.{account['owner']} = %s ORDER BY {order}"
    )


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


def mailboxes_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[AccountFolders]:
    """Each account with its folders: special folders first, then the others as a tree.

    One query: the accounts joined to their subscribed folders (an account without any is listed too).
    """
    if not user.is_authenticated:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_RAIL_SQL(), [True, user.pk])
        rows = cursor.fetchall()
    accounts: dict[int, tuple[MailAccount, list[Folder]]] = {}
    account_from = _instances(MailAccount, _RAIL_ACCOUNT_FIELDS, connection.alias)
    folder_from = _instances(Folder, ("account_id", *_RAIL_FOLDER_FIELDS), connection.alias)
    split = len(_RAIL_ACCOUNT_FIELDS)
    for row in rows:
        account_id = row[0]
        if account_id not in accounts:
            accounts[account_id] = (account_from(row[:split]), [])
        if row[split] is not None:
            folder = folder_from((account_id, *row[split:]))
            accounts[account_id][1].append(folder)
    result = []
    for account, shown in accounts.values():
        folders = sorted(shown, key=lambda f: (_ROLE_ORDER.get(f.role, 9), f.name.casefold() if not f.role else ""))
        entries = []
        for folder in folders:
            folder.account = account
            depth = 0 if folder.role else len(folder_parts(folder)) - 1
            entries.append(FolderEntry(folder=folder, label=folder_label(folder), depth=depth))
        result.append(AccountFolders(account=account, folders=entries))
    return result


def folder_parts(folder: Folder) -> list[str]:
    """The folder's path on the server, cut at its delimiter (a flat name is one part)."""
    return folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]


def folder_label(folder: Folder) -> str:
    """A folder's name in the UI: its role's (translated), else the last part of its path."""
    return str(_ROLE_LABELS.get(folder.role, folder.role)) if folder.role else folder_parts(folder)[-1]


def inbox_folders_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Folder]:
    if not user.is_authenticated:
        return Folder.objects.none()
    return Folder.objects.filter(account__owner_id=user.pk, role="inbox")


# ---------------------------------------------------------------- message list
Sort = Literal["date", "from", "subject", "size"]
QuickFilter = Literal["all", "unread", "flagged", "attachments"]
SORTS: tuple[Sort, ...] = ("date", "from", "subject", "size")
FILTERS: tuple[QuickFilter, ...] = ("all", "unread", "flagged", "attachments")
_SORT_FIELDS: dict[Sort, tuple[str, ...]] = {
    "date": ("sort_date", "id"),
    "from": ("from_name", "from_address", "id"),
    "subject": ("subject", "id"),
    "size": ("size", "id"),
}


@dataclass(frozen=True)
class ListQuery:
    sort: Sort = "date"
    descending: bool = True
    quick_filter: QuickFilter = "all"
    threads: bool = True
    cursor: str = ""  # opaque: where the previous page ended
    limit: int = 50


@dataclass(frozen=True)
class ListRow:
    message: Message
    thread_count: int
    thread_unread: int


@dataclass(frozen=True)
class ListPage:
    rows: list[ListRow]
    next_cursor: str


# What a list row shows (the `mail` template tags' message_rows), read with the candidates: the
# other columns (addresses besides To, references, list headers...) stay in the database.
_ROW_FIELDS = ("folder_id", "subject", "from_name", "from_address", "seen", "flagged", "has_attachments")
_RECIPIENT_ROLES = ("sent", "drafts")  # their rows show the recipients (To) instead of the sender


def message_page(*, folders: QuerySet[Folder] | list[Folder], query: ListQuery) -> ListPage:
    """One page of a folder's list (or of several folders: the unified inbox), from the index.

    Date order pages by keyset (cost independent of the depth); other orders by offset. In
    conversation view a thread shows once, at its newest message in these folders (and filter).
    Candidates are read as tuples with the columns a row shows (no model instances for the rows
    left out), newest-of-thread is decided on them, and only the rows shown become messages.
    Every query is bounded by the page (an index walk that stops, `IN` lists of ids): none can
    turn into a pass over the folder that grows with it, whatever the planner's statistics say.
    """
    folders = list(folders)
    base = Message.objects.filter(folder__in=folders, **_QUICK_FILTERS[query.quick_filter])
    fields = _SORT_FIELDS[query.sort]
    order = [f"-{f}" if query.descending else f for f in fields]
    keyset = query.sort == "date"
    columns: tuple[str, ...] = _CANDIDATE_FIELDS + _ROW_FIELDS
    if any(folder.role in _RECIPIENT_ROLES for folder in folders):
        columns += ("to",)
    offset = 0
    shown: list[_Candidate] = []
    cursor = query.cursor
    next_cursor = cursor
    # From the top of the list, newest first, the first message of a thread met is its newest in
    # these folders: conversations fold without asking the database (the first page, the usual one).
    from_top = keyset and query.descending and not query.cursor
    threads_met: set[int] = set()
    for _round in range(4):  # conversation view may need a few extra reads to fill a page
        candidates_qs = base.order_by(*order)
        if keyset and cursor:
            candidates_qs = candidates_qs.filter(_after_date_cursor(cursor, descending=query.descending))
        elif cursor:
            offset = _offset(cursor)
        # Conversations fold a page's worth of messages into fewer rows: read half a page more.
        want = (query.limit * 3 // 2 if query.threads else query.limit) + 1
        window = candidates_qs[offset : offset + want] if not keyset else candidates_qs[:want]
        candidates: list[_Candidate] = list(window.values_list(*columns))
        more = len(candidates) == want
        candidates = candidates[: want - 1]
        if not query.threads:
            kept = candidates
        elif from_top:
            kept = _first_of_each_thread(candidates, threads_met)
        else:
            kept = _newest_of_each_thread(candidates, base)
        full = False
        for candidate in kept:
            shown.append(candidate)
            if len(shown) == query.limit:
                next_cursor = _cursor_after(candidate, keyset, offset, candidates)
                full = True
                break
        if full or not more:
            next_cursor = next_cursor if full else ""
            break
        cursor = next_cursor = _date_cursor(candidates[-1]) if keyset else f"o{offset + len(candidates)}"
    return ListPage(rows=_rows(shown, folders, columns, base.db), next_cursor=next_cursor)


_QUICK_FILTERS: dict[QuickFilter, dict[str, bool]] = {
    "all": {},
    "unread": {"seen": False},
    "flagged": {"flagged": True},
    "attachments": {"has_attachments": True},
}

# (id, thread_id, sort_date, the thread's message count and unread count: None without a thread,
# then the _ROW_FIELDS, and To in Sent and Drafts)
_Candidate = tuple[Any, ...]
_CANDIDATE_FIELDS = ("id", "thread_id", "sort_date", "thread__message_count", "thread__unread_count")
_MESSAGE_FIELDS = ("id", "thread_id", "sort_date")


def _rows(shown: list[_Candidate], folders: list[Folder], columns: tuple[str, ...], db: str) -> list[ListRow]:
    by_id = {folder.pk: folder for folder in folders}
    build = _instances(Message, (*_MESSAGE_FIELDS, *columns[len(_CANDIDATE_FIELDS) :]), db)
    rows = []
    for candidate in shown:
        pk, thread_id, when, count, unread = candidate[:5]
        message = build((pk, thread_id, when, *candidate[5:]))
        message.folder = by_id[message.folder_id]  # already loaded: no join for the rows' folders
        if thread_id is None or count is None or unread is None:
            rows.append(ListRow(message=message, thread_count=1, thread_unread=0 if message.seen else 1))
        else:
            rows.append(ListRow(message=message, thread_count=count, thread_unread=unread))
    return rows


@lru_cache(maxsize=64)  # a handful of (model, columns, database): built once, not on every page
def _instances(model: type[_M], names: tuple[str, ...], db: str) -> Callable[[Sequence[Any]], _M]:
    """Model instances from value tuples that follow `names` (attnames), the other fields deferred.

    `Model.from_db` is given a value for every field, DEFERRED where none was read: given a subset,
    it would look each field up in the list of names, for every row (a fifth of building a page's rows).
    """
    attnames = [field.attname for field in model._meta.concrete_fields]
    ordered = sorted(names, key=attnames.index)
    slots = [(attnames.index(name), names.index(name)) for name in ordered]
    blank = [DEFERRED] * len(attnames)

    def build(values: Sequence[Any]) -> _M:
        row = blank.copy()
        for slot, position in slots:
            row[slot] = values[position]
        return model.from_db(db, ordered, row)

    return build


def _first_of_each_thread(candidates: list[_Candidate], met: set[int]) -> list[_Candidate]:
    """The candidates whose thread was not met before (in `met`, which this fills)."""
    kept = []
    for candidate in candidates:
        thread_id = candidate[1]
        if thread_id is not None:
            if thread_id in met:
                continue
            met.add(thread_id)
        kept.append(candidate)
    return kept


def _newest_of_each_thread(candidates: list[_Candidate], base: QuerySet[Message]) -> list[_Candidate]:
    # A thread known to hold one message (in all folders) needs no check: it is its own newest.
    thread_ids = {c[1] for c in candidates if c[1] and c[3] != 1}
    if not thread_ids:
        return candidates
    # The newest (date, id) of each thread within these folders and this filter. Only messages
    # from the oldest candidate on can be newer than a candidate: a long thread is not read whole.
    oldest = min(c[2] for c in candidates if c[1] in thread_ids)
    newest: dict[int, int] = {}
    for thread_id, top_id in (
        base.filter(thread_id__in=thread_ids, sort_date__gte=oldest)
        .order_by("thread_id", "-sort_date", "-id")
        .values_list("thread_id", "id")
    ):
        newest.setdefault(thread_id, top_id)
    return [c for c in candidates if c[1] not in thread_ids or newest.get(c[1], c[0]) == c[0]]


def _date_cursor(candidate: _Candidate) -> str:
    return f"d{candidate[2].isoformat()}|{candidate[0]}"


def _after_date_cursor(cursor: str, *, descending: bool) -> Q:
    try:
        when_text, _, ident = cursor[1:].partition("|")
        when = datetime.fromisoformat(when_text)
        pk = int(ident)
    except ValueError:
        return Q()  # a tampered cursor restarts at the top
    if descending:
        return Q(sort_date__lt=when) | Q(sort_date=when, id__lt=pk)
    return Q(sort_date__gt=when) | Q(sort_date=when, id__gt=pk)


def _offset(cursor: str) -> int:
    try:
        return max(0, int(cursor[1:])) if cursor.startswith("o") else 0
    except ValueError:
        return 0


def _cursor_after(candidate: _Candidate, keyset: bool, offset: int, candidates: list[_Candidate]) -> str:
    if keyset:
        return _date_cursor(candidate)
    return f"o{offset + candidates.index(candidate) + 1}"


PREFERENCES_CACHE_SECONDS = 600


def preferences_cache_key(user_id: int) -> str:
    return f"mail:preferences:{user_id}"


def mail_preferences_for_user(*, user: AbstractBaseUser | AnonymousUser) -> MailPreferences:
    """The user's preferences, or unsaved defaults (saved on first change).

    Every list and reading pane asks: they are kept in the cache, which the services that change
    them refresh after their commit (apps.mail.services).
    """
    if not user.is_authenticated:
        return MailPreferences()
    cache_key = preferences_cache_key(user.pk)
    try:
        cached = cache.get(cache_key)
    except RedisError:
        cached = None
    if isinstance(cached, MailPreferences) and cached.user_id == user.pk:
        return cached
    found = MailPreferences.objects.filter(user_id=user.pk).first() or MailPreferences(user_id=user.pk)
    with suppress(RedisError):  # Redis down: the next page reads the database again
        cache.set(cache_key, found, PREFERENCES_CACHE_SECONDS)
    return found


@dataclass(frozen=True)
class ThreadItem:
    """One message of a conversation as the reading pane lists it."""

    pk: int
    from_name: str
    from_address: str
    sort_date: datetime | None
    folder: str  # the folder's name


def thread_messages(*, message: Message) -> list[ThreadItem]:
    """Every message of the message's conversation, all folders, oldest first (as plain values:
    a long thread's addresses and references stay in the database)."""
    if message.thread_id is None:
        return [ThreadItem(message.pk, message.from_name, message.from_address, message.sort_date, message.folder.name)]
    rows = (
        Message.objects.filter(thread_id=message.thread_id, account_id=message.account_id)
        .order_by("sort_date", "id")
        .values_list("id", "from_name", "from_address", "sort_date", "folder__name")
    )
    return [ThreadItem(*row) for row in rows]


# ---------------------------------------------------------------- search coverage
@dataclass(frozen=True)
class SearchCoverage:
    """How much of an account's indexed mail search reads in full (headers are always searched)."""

    account_id: int
    bodies_indexed: int
    total: int

    @property
    def remaining(self) -> int:
        return self.total - self.bodies_indexed


def search_coverage_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[SearchCoverage]:
    """Per account of the user, bodies indexed of all messages; empty when every body is indexed.

    The empty case costs one probe of the partial index of waiting bodies, so pages may ask often.
    """
    if not user.is_authenticated:
        return []
    mine = Message.objects.filter(account_id__in=MailAccount.objects.filter(owner_id=user.pk).values("pk"))
    if not mine.filter(body_indexed=False).exists():
        return []
    rows = (
        mine.values("account_id")
        .annotate(total=Count("id"), waiting=Count("id", filter=Q(body_indexed=False)))
        .order_by("account_id")
    )
    return [
        SearchCoverage(account_id=row["account_id"], bodies_indexed=row["total"] - row["waiting"], total=row["total"])
        for row in rows
    ]
