"""Reads for mail accounts, always scoped to a user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from django.db.models import Q, QuerySet

from apps.mail.models import Folder, MailAccount, MailPreferences, Message

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def mail_accounts_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[MailAccount]:
    if not user.is_authenticated:
        return MailAccount.objects.none()
    return MailAccount.objects.filter(owner_id=user.pk).order_by("label", "email_address")


# ---------------------------------------------------------------- folders
_ROLE_ORDER = {"inbox": 0, "drafts": 1, "sent": 2, "archive": 3, "junk": 4, "trash": 5}


@dataclass(frozen=True)
class FolderEntry:
    folder: Folder
    label: str
    depth: int


@dataclass(frozen=True)
class AccountFolders:
    account: MailAccount
    folders: list[FolderEntry]


def mailboxes_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[AccountFolders]:
    """Each account with its folders: special folders first, then the others as a tree."""
    accounts = list(mail_accounts_for_user(user=user))
    by_account: dict[int, list[Folder]] = {a.pk: [] for a in accounts}
    for folder in Folder.objects.filter(account__in=accounts, subscribed=True).order_by("name"):
        by_account[folder.account_id].append(folder)
    result = []
    for account in accounts:
        folders = sorted(
            by_account[account.pk],
            key=lambda f: (_ROLE_ORDER.get(f.role, 9), f.name.casefold() if not f.role else ""),
        )
        entries = []
        for folder in folders:
            parts = folder.name.split(folder.delimiter) if folder.delimiter else [folder.name]
            label = folder.get_role_display() if folder.role else parts[-1]
            entries.append(FolderEntry(folder=folder, label=str(label), depth=0 if folder.role else len(parts) - 1))
        result.append(AccountFolders(account=account, folders=entries))
    return result


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


def message_page(*, folders: QuerySet[Folder] | list[Folder], query: ListQuery) -> ListPage:
    """One page of a folder's list (or of several folders: the unified inbox), from the index.

    Date order pages by keyset (cost independent of the depth); other orders by offset. In
    conversation view a thread shows once, at its newest message in these folders.
    """
    base = Message.objects.filter(folder__in=folders).select_related("thread", "folder")
    if query.quick_filter == "unread":
        base = base.filter(seen=False)
    elif query.quick_filter == "flagged":
        base = base.filter(flagged=True)
    elif query.quick_filter == "attachments":
        base = base.filter(has_attachments=True)
    fields = _SORT_FIELDS[query.sort]
    order = [f"-{f}" if query.descending else f for f in fields]
    keyset = query.sort == "date"
    offset = 0
    rows: list[ListRow] = []
    cursor = query.cursor
    for _round in range(4):  # conversation view may need a few extra reads to fill a page
        candidates_qs = base.order_by(*order)
        if keyset and cursor:
            candidates_qs = candidates_qs.filter(_after_date_cursor(cursor, descending=query.descending))
        elif cursor:
            offset = _offset(cursor)
        want = query.limit * (3 if query.threads else 1) + 1
        candidates = list(candidates_qs[offset : offset + want] if not keyset else candidates_qs[:want])
        more = len(candidates) == want
        candidates = candidates[: want - 1]
        kept = _newest_of_each_thread(candidates, base) if query.threads else candidates
        for message in kept:
            rows.append(_row(message))
            if len(rows) == query.limit:
                return ListPage(rows=rows, next_cursor=_cursor_after(message, keyset, offset, candidates))
        if not more:
            return ListPage(rows=rows, next_cursor="")
        last = candidates[-1]
        cursor = _date_cursor(last) if keyset else f"o{offset + len(candidates)}"
    return ListPage(rows=rows, next_cursor=cursor)


def _row(message: Message) -> ListRow:
    thread = message.thread
    if thread is None:
        return ListRow(message=message, thread_count=1, thread_unread=0 if message.seen else 1)
    return ListRow(message=message, thread_count=thread.message_count, thread_unread=thread.unread_count)


def _newest_of_each_thread(candidates: list[Message], base: QuerySet[Message]) -> list[Message]:
    thread_ids = {m.thread_id for m in candidates if m.thread_id}
    newest: dict[int, tuple[object, int]] = {}
    if thread_ids:
        # The newest (date, id) of each thread within these folders and this filter.
        for thread_id, top_date, top_id in (
            base.filter(thread_id__in=thread_ids)
            .order_by("thread_id", "-sort_date", "-id")
            .values_list("thread_id", "sort_date", "id")
        ):
            newest.setdefault(thread_id, (top_date, top_id))
    return [m for m in candidates if m.thread_id is None or newest.get(m.thread_id, (None, m.pk))[1] == m.pk]


def _date_cursor(message: Message) -> str:
    return f"d{message.sort_date.isoformat()}|{message.pk}"


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


def _cursor_after(message: Message, keyset: bool, offset: int, candidates: list[Message]) -> str:
    if keyset:
        return _date_cursor(message)
    return f"o{offset + candidates.index(message) + 1}"


def mail_preferences_for_user(*, user: AbstractBaseUser | AnonymousUser) -> MailPreferences:
    """The user's preferences, or unsaved defaults (saved on first change)."""
    if not user.is_authenticated:
        return MailPreferences()
    found = MailPreferences.objects.filter(user_id=user.pk).first()
    return found or MailPreferences(user_id=user.pk)


def thread_messages(*, message: Message) -> list[Message]:
    """Every message of the message's conversation, all folders, oldest first."""
    if message.thread_id is None:
        return [message]
    return list(
        Message.objects.filter(thread_id=message.thread_id, account_id=message.account_id)
        .select_related("folder")
        .order_by("sort_date", "id")
    )
