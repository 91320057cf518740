"""Organising mail: read/unread, flags, moving (archive, trash, junk), deleting, and the folder tree.

Every action is applied on the IMAP server first. The index then follows the server's answer:
a folder sync of each touched folder (CONDSTORE/QRESYNC make it a short exchange), so a message
another client moved or deleted meanwhile simply disappears from the index instead of being
guessed at. When the account's sync lock is taken (a long sync is running), the folder syncs are
queued instead and the page keeps its optimistic state until their events arrive.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail.connections import imap_call
from apps.mail.events import publish_folder_tree
from apps.mail.imap import ImapCommandError, ImapConnection, ImapError
from apps.mail.models import Folder, FolderRole, MailAccount, Message, OrganiseSettings, Snooze, SnoozeState
from apps.mail.sync import SyncBusy, folders_resync
from apps.mail.sync_tree import folders_sync

log = logging.getLogger(__name__)

# A folder this small (or fully indexed) is synced inline after an action; a bigger one still
# being filled for the first time is left to the background sync, not to the request.
INLINE_SYNC_MAX = 5000
MAX_SELECTION = 1000
FOLDER_NAME_MAX = 200
JUNK_KEYWORD, NOT_JUNK_KEYWORD = "$Junk", "$NotJunk"


class OrganiseError(Exception):
    """An action the server or the rules refused. The message is in plain words, for the user."""


@dataclass(frozen=True)
class ActionResult:
    done: int  # messages the server acted on
    missing: int = 0  # messages the server no longer had (another client moved or deleted them)


# ---------------------------------------------------------------- helpers
def _by_account_and_folder(messages: Iterable[Message]) -> dict[int, dict[int, list[Message]]]:
    grouped: dict[int, dict[int, list[Message]]] = defaultdict(lambda: defaultdict(list))
    count = 0
    for message in messages:
        grouped[message.account_id][message.folder_id].append(message)
        count += 1
    if count > MAX_SELECTION:
        raise OrganiseError(_("Select at most %(count)d messages at a time.") % {"count": MAX_SELECTION})
    return grouped


def folders_follow(folders: Iterable[Folder]) -> None:
    """Brings the index of these folders in line with the server after an action.

    The small or fully indexed ones are synced at once, each account's over one connection; the
    others (a first sync still reading a large folder) and any that cannot be synced now (a
    long sync holds the lock, the server did not answer) are queued.
    """
    from apps.mail.tasks import sync_folder  # late: tasks import the sync engine

    inline: dict[int, list[int]] = defaultdict(list)
    queued: list[int] = []
    for folder in {folder.pk: folder for folder in folders}.values():
        if folder.backfill_done or folder.total <= INLINE_SYNC_MAX:
            inline[folder.account_id].append(folder.pk)
        else:
            queued.append(folder.pk)
    for folder_ids in inline.values():
        try:
            folders_resync(folder_ids=folder_ids)
        except (SyncBusy, ImapError) as exc:
            log.info("folders %s will be synced in the background: %s", folder_ids, exc)
            queued += folder_ids
    for folder_id in queued:
        transaction.on_commit(lambda folder_id=folder_id: sync_folder.delay(folder_id), robust=True)  # type: ignore[misc]


def _imap_refused(exc: ImapError) -> OrganiseError:
    return OrganiseError(_("The mail server refused: %(reason)s") % {"reason": exc})


T = TypeVar("T")


def _run(account: MailAccount, operation: Callable[[ImapConnection], T]) -> T:
    try:
        return imap_call(account, operation)
    except ImapError as exc:
        raise _imap_refused(exc) from None


# ---------------------------------------------------------------- flags
FlagName = Literal["seen", "flagged"]
_SYSTEM_FLAGS: dict[str, str] = {"seen": "\\Seen", "flagged": "\\Flagged"}


def messages_set_flag(*, messages: Sequence[Message], flag: FlagName, value: bool) -> ActionResult:
    """Marks messages read/unread or flagged/unflagged: on the server, then the index follows."""
    imap_flag = (_SYSTEM_FLAGS[flag],)
    touched: list[Folder] = []
    done = 0
    for by_folder in _by_account_and_folder(messages).values():
        for folder_messages in by_folder.values():
            folder, account = folder_messages[0].folder, folder_messages[0].account
            uids = [m.uid for m in folder_messages]

            def store(imap: ImapConnection, name: str = folder.name, uids: list[int] = uids) -> None:
                if value:
                    imap.add_flags(name, uids, imap_flag)
                else:
                    imap.remove_flags(name, uids, imap_flag)

            _run(account, store)
            touched.append(folder)
            done += len(uids)
    folders_follow(touched)
    return ActionResult(done=done)


# ---------------------------------------------------------------- moving
def _move(
    *,
    account: MailAccount,
    source: Folder,
    uids: Sequence[int],
    destination: Folder,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> tuple[dict[int, int], int]:
    """Moves UIDs on the server; returns ({source UID: destination UID}, how many were gone)."""

    def move(imap: ImapConnection) -> tuple[dict[int, int], bool]:
        if add:
            imap.add_flags(source.name, uids, add)
        if remove:
            imap.remove_flags(source.name, uids, remove)
        return imap.move(source.name, uids, destination.name), imap.has("UIDPLUS")

    mapping, knows = _run(account, move)
    missing = len(set(uids)) - len(mapping) if knows else 0
    return mapping, missing


def messages_move(
    *,
    messages: Sequence[Message],
    destination: Folder | None = None,
    role: str = "",
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> ActionResult:
    """Moves messages to `destination`, or to each account's folder with `role` (trash, junk, inbox…)."""
    touched: list[Folder] = []
    done = missing = 0
    for account_id, by_folder in _by_account_and_folder(messages).items():
        account = next(iter(by_folder.values()))[0].account
        target = destination if destination is not None else role_folder(account=account, role=role)
        if target.account_id != account_id:
            raise OrganiseError(_("Messages can only be moved to a folder of the same account."))
        if not target.selectable:
            raise OrganiseError(_("The folder %(name)s cannot hold messages.") % {"name": target.name})
        for folder_messages in by_folder.values():
            source = folder_messages[0].folder
            if source.pk == target.pk:
                continue
            _mapping, gone = _move(
                account=account,
                source=source,
                uids=[m.uid for m in folder_messages],
                destination=target,
                add=add,
                remove=remove,
            )
            done += len(folder_messages) - gone
            missing += gone
            touched += [source, target]
    folders_follow(touched)
    return ActionResult(done=done, missing=missing)


def messages_archive(*, messages: Sequence[Message]) -> ActionResult:
    """To the account's Archive folder, or its sub-folder of the message's year when the account wants it."""
    done = missing = 0
    groups: dict[tuple[int, int | None], list[Message]] = defaultdict(list)
    by_year: dict[int, bool] = {}
    for message in messages:
        account = message.account
        if account.pk not in by_year:
            by_year[account.pk] = organise_settings_for(account=account).archive_by_year
        year = timezone.localtime(message.sort_date).year if by_year[account.pk] else None
        groups[(account.pk, year)].append(message)
    for (_account_id, year), group in groups.items():
        account = group[0].account
        archive = role_folder(account=account, role=FolderRole.ARCHIVE)
        if year is not None:
            archive = folder_ensure(account=account, name=f"{archive.name}{archive.delimiter or '/'}{year}")
        result = messages_move(messages=group, destination=archive)
        done, missing = done + result.done, missing + result.missing
    return ActionResult(done=done, missing=missing)


def messages_trash(*, messages: Sequence[Message]) -> ActionResult:
    """To the Trash. Messages already there are refused: deleting them for ever needs a confirmation."""
    if any(m.folder.role == FolderRole.TRASH for m in messages):
        raise OrganiseError(_("These messages are already in the Trash: confirm to delete them for ever."))
    return messages_move(messages=messages, role=FolderRole.TRASH)


def messages_junk(*, messages: Sequence[Message]) -> ActionResult:
    """To the Junk folder, marked $Junk so the server's filter can learn from it."""
    return messages_move(messages=messages, role=FolderRole.JUNK, add=(JUNK_KEYWORD,), remove=(NOT_JUNK_KEYWORD,))


def messages_not_junk(*, messages: Sequence[Message]) -> ActionResult:
    """Back to the Inbox, marked $NotJunk."""
    return messages_move(messages=messages, role=FolderRole.INBOX, add=(NOT_JUNK_KEYWORD,), remove=(JUNK_KEYWORD,))


def messages_delete_forever(*, messages: Sequence[Message]) -> ActionResult:
    """Deletes messages for good (\\Deleted, then an expunge of exactly those UIDs)."""
    touched: list[Folder] = []
    done = 0
    for by_folder in _by_account_and_folder(messages).values():
        for folder_messages in by_folder.values():
            folder, account = folder_messages[0].folder, folder_messages[0].account
            uids = [m.uid for m in folder_messages]
            _run(account, lambda imap, name=folder.name, uids=uids: imap.delete_uids(name, uids))  # type: ignore[misc]
            touched.append(folder)
            done += len(uids)
    folders_follow(touched)
    return ActionResult(done=done)


def folder_empty(*, folder: Folder) -> ActionResult:
    """Empties the Trash or the Junk folder for good (only those: emptying is not undone)."""
    if folder.role not in (FolderRole.TRASH, FolderRole.JUNK):
        raise OrganiseError(_("Only the Trash and the Junk folder can be emptied."))

    def empty(imap: ImapConnection) -> int:
        uids = imap.folder_uids(folder.name)
        imap.delete_uids(folder.name, uids)
        return len(uids)

    done = _run(folder.account, empty)
    folders_follow([folder])
    return ActionResult(done=done)


# ---------------------------------------------------------------- folders
def role_folder(*, account: MailAccount, role: str) -> Folder:
    """The account's folder with this role; Archive, Trash, Junk are created when the server has none."""
    found = Folder.objects.filter(account=account, role=role).first()
    if found is not None:
        return found
    names = {FolderRole.ARCHIVE: "Archive", FolderRole.TRASH: "Trash", FolderRole.JUNK: "Junk"}
    if role not in names:
        raise OrganiseError(_("This account has no %(role)s folder.") % {"role": FolderRole(role).label})
    by_name = Folder.objects.filter(account=account, name__iexact=names[FolderRole(role)]).first()
    return by_name or folder_ensure(account=account, name=names[FolderRole(role)])


def folder_ensure(*, account: MailAccount, name: str) -> Folder:
    """The folder with this full name, created (and subscribed) on the server when missing."""
    found = Folder.objects.filter(account=account, name=name).first()
    if found is not None:
        return found

    def ensure(imap: ImapConnection) -> None:
        if not imap.folder_exists(name):
            try:
                imap.create_folder(name)
            except ImapCommandError:
                if not imap.folder_exists(name):  # else another client created it meanwhile
                    raise
            imap.subscribe(name)

    _run(account, ensure)
    _tree_sync(account)
    return Folder.objects.get(account=account, name=name)


def _tree_sync(account: MailAccount) -> None:
    """The Folder rows follow the server's LIST; every open page redraws its folder list."""

    def sync(imap: ImapConnection) -> None:
        try:
            folders_sync(account=account, imap=imap)
        except IntegrityError:  # a concurrent sync created the same row: read the list again
            folders_sync(account=account, imap=imap)

    _run(account, sync)
    counts = list(Folder.objects.filter(account=account).values("id", "unread", "total"))
    publish_folder_tree(
        owner_id=account.owner_id,
        account_id=account.pk,
        folders=[{"id": c["id"], "unread": c["unread"], "total": c["total"]} for c in counts],
    )


def _checked_name(name: str, delimiter: str) -> str:
    name = name.strip()
    if not name:
        raise OrganiseError(_("Give the folder a name."))
    if len(name) > FOLDER_NAME_MAX:
        raise OrganiseError(_("A folder name can have at most %(count)d characters.") % {"count": FOLDER_NAME_MAX})
    if re.search(r"[\x00-\x1f\x7f]", name) or name in (".", ".."):
        raise OrganiseError(_("A folder name cannot hold control characters."))
    if delimiter and delimiter in name:
        raise OrganiseError(
            _("A folder name cannot hold “%(delimiter)s”: create a sub-folder instead.") % {"delimiter": delimiter}
        )
    if name.upper() == "INBOX":
        raise OrganiseError(_("That name is reserved for the Inbox."))
    return name


def _account_delimiter(account: MailAccount) -> str:
    delimiters = Folder.objects.filter(account=account).exclude(delimiter="").values_list("delimiter", flat=True)
    return delimiters.first() or "/"


def folder_create(*, account: MailAccount, name: str, parent: Folder | None = None) -> Folder:
    """Creates a folder (inside `parent` when given) on the server, subscribed."""
    delimiter = parent.delimiter if parent is not None and parent.delimiter else _account_delimiter(account)
    name = _checked_name(name, delimiter)
    if parent is not None and parent.account_id != account.pk:
        raise OrganiseError(_("The parent folder belongs to another account."))
    full = f"{parent.name}{delimiter}{name}" if parent is not None else name
    if Folder.objects.filter(account=account, name=full).exists():
        raise OrganiseError(_("A folder with this name already exists."))

    def create(imap: ImapConnection) -> None:
        imap.create_folder(full)
        imap.subscribe(full)

    _run(account, create)
    _tree_sync(account)
    return Folder.objects.get(account=account, name=full)


def _refuse_special(folder: Folder, what: str) -> None:
    if folder.role:
        raise OrganiseError(
            _("%(folder)s is a special folder: it cannot be %(what)s.")
            % {"folder": folder.get_role_display(), "what": what}
        )


def folder_rename(*, folder: Folder, name: str) -> Folder:
    """Renames a folder (keeping where it sits in the tree); its sub-folders follow on the server."""
    _refuse_special(folder, _("renamed"))
    delimiter = folder.delimiter
    name = _checked_name(name, delimiter)
    parent, _sep, _old = folder.name.rpartition(delimiter) if delimiter else ("", "", folder.name)
    full = f"{parent}{delimiter}{name}" if parent else name
    if full == folder.name:
        return folder
    if Folder.objects.filter(account_id=folder.account_id, name=full).exists():
        raise OrganiseError(_("A folder with this name already exists."))
    old = folder.name

    def rename(imap: ImapConnection) -> None:
        if folder.uidvalidity is None:
            # Never synced yet: without its UIDVALIDITY the tree sync could not recognise the
            # renamed folder and would rebuild it as a new one.
            folder.uidvalidity = imap.folder_uidvalidity(old)
            Folder.objects.filter(pk=folder.pk).update(uidvalidity=folder.uidvalidity)
        imap.rename_folder(old, full)
        if folder.subscribed:
            imap.subscribe(full)
            with contextlib.suppress(ImapCommandError):  # the server may have moved the subscription
                imap.unsubscribe(old)

    _run(folder.account, rename)
    _tree_sync(folder.account)
    return Folder.objects.get(account_id=folder.account_id, name=full)


def folder_delete(*, folder: Folder) -> None:
    """Deletes a folder and its sub-folders with their messages, on the server. Special folders are refused."""
    _refuse_special(folder, _("deleted"))
    prefix = f"{folder.name}{folder.delimiter}" if folder.delimiter else None
    family = [folder]
    if prefix:
        family += list(Folder.objects.filter(account_id=folder.account_id, name__startswith=prefix))
    for member in family:
        _refuse_special(member, _("deleted"))
    if Snooze.objects.filter(folder__in=family, state=SnoozeState.SNOOZED).exists():
        raise OrganiseError(_("Snoozed messages wait in this folder: unsnooze them first."))

    def delete(imap: ImapConnection) -> None:
        for member in sorted(family, key=lambda f: len(f.name), reverse=True):  # sub-folders first
            imap.delete_folder(member.name)
            with contextlib.suppress(ImapCommandError):  # the server may have dropped it with the folder
                imap.unsubscribe(member.name)

    _run(folder.account, delete)
    _tree_sync(folder.account)


def folder_set_subscribed(*, folder: Folder, subscribed: bool) -> Folder:
    """Shows (subscribed) or hides a folder in the folder list, on the server and here."""
    if not subscribed and folder.role == FolderRole.INBOX:
        raise OrganiseError(_("The Inbox is always shown."))

    def apply(imap: ImapConnection) -> None:
        if subscribed:
            imap.subscribe(folder.name)
        else:
            imap.unsubscribe(folder.name)

    _run(folder.account, apply)
    _tree_sync(folder.account)
    folder.refresh_from_db()
    return folder


# ---------------------------------------------------------------- settings
def organise_settings_for(*, account: MailAccount) -> OrganiseSettings:
    settings, _created = OrganiseSettings.objects.get_or_create(account=account)
    return settings


def organise_settings_update(*, account: MailAccount, archive_by_year: bool) -> OrganiseSettings:
    settings = organise_settings_for(account=account)
    if settings.archive_by_year != archive_by_year:
        settings.archive_by_year = archive_by_year
        settings.save(update_fields=["archive_by_year"])
    return settings
