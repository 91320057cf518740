"""The folder tree of an account: the Folder rows follow the server's LIST (roles, renames kept
by UIDVALIDITY, folders gone from the server dropped with their messages), and the row lock every
writer of a folder's messages takes first.

Part of the sync engine (apps/mail/sync.py); organise.py calls `folders_sync` after it changes
the tree on the server.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from apps.mail.imap import FolderInfo, FolderState, ImapConnection
from apps.mail.models import Folder, FolderRole, MailAccount
from apps.mail.threading import thread_ids_of, threads_refresh

# Sync order after the Inbox: where people look first.
_ROLE_ORDER: dict[str, int] = {"inbox": 0, "sent": 1, "archive": 2, "drafts": 3}


def folders_sync(
    *, account: MailAccount, imap: ImapConnection, statuses: dict[str, FolderState] | None = None
) -> list[Folder]:
    """Brings the Folder rows in line with the server's LIST; returns the selectable ones, Inbox first.

    `statuses` receives what LIST-STATUS told of each folder, when the server offers it.

    A folder renamed on the server keeps its rows when its UIDVALIDITY shows up, unambiguously,
    under the new name; a folder gone from the server is dropped with its messages.
    """
    infos = imap.list_folders()
    if statuses is not None:
        statuses.update({info.name: info.status for info in infos if info.status is not None})
    listed = {info.name: info for info in infos}
    rows = {folder.name: folder for folder in Folder.objects.filter(account=account)}
    gone = [folder for name, folder in rows.items() if name not in listed]
    new = [info for info in infos if info.name not in rows and info.selectable]
    if gone and new:
        _recognise_renames(imap, rows, gone, new)
    with transaction.atomic():
        if gone:
            _folders_delete(account, gone)
        roles_taken: set[str] = set()
        for info in sorted(infos, key=lambda i: (i.role != FolderRole.INBOX, i.name)):
            role = info.role if info.role and info.role not in roles_taken else ""
            roles_taken.add(role)
            _folder_save(account, rows.get(info.name), info, role, rows)
    selectable = [folder for folder in rows.values() if folder.selectable and folder.name in listed]
    return sorted(selectable, key=lambda f: (_ROLE_ORDER.get(f.role, 9), f.name.lower()))


def _recognise_renames(
    imap: ImapConnection, rows: dict[str, Folder], gone: list[Folder], new: list[FolderInfo]
) -> None:
    candidates: dict[int, list[Folder]] = defaultdict(list)
    for folder in gone:
        if folder.uidvalidity:
            candidates[folder.uidvalidity].append(folder)
    if not candidates:
        return
    for info in new:
        validity = imap.folder_uidvalidity(info.name)
        matches = candidates.get(validity or 0, [])
        if len(matches) != 1:
            continue  # several gone folders share it (created in the same second): not sure, rebuild
        folder = matches.pop()
        del rows[folder.name]
        gone.remove(folder)
        folder.name = info.name
        folder.save(update_fields=["name"])
        rows[info.name] = folder


def _folders_delete(account: MailAccount, folders: Sequence[Folder]) -> None:
    ids = [folder.pk for folder in folders]
    folder_rows_lock(folder_ids=ids)
    thread_ids = thread_ids_of(message_filter=Q(folder_id__in=ids))
    Folder.objects.filter(account=account, pk__in=ids).delete()
    threads_refresh(thread_ids=thread_ids)


def _folder_save(
    account: MailAccount, folder: Folder | None, info: FolderInfo, role: str, rows: dict[str, Folder]
) -> None:
    values: dict[str, Any] = {
        "name": info.name,
        "delimiter": info.delimiter[:4],
        "role": role,
        "attributes": list(info.attributes),
        "subscribed": info.subscribed,
        "selectable": info.selectable,
    }
    if folder is None:
        rows[info.name] = Folder.objects.create(account=account, **values)
        return
    changed = [name for name, value in values.items() if getattr(folder, name) != value]
    if changed:
        for name in changed:
            setattr(folder, name, values[name])
        folder.save(update_fields=changed)


def folder_rows_lock(*, folder_ids: Sequence[int]) -> None:
    """Locks these Folder rows until the end of the transaction (PostgreSQL; SQLite has one writer anyway).

    Every transaction that adds or removes a folder's Message rows, or writes bodies of them
    (apps.mail.indexer), takes it first: the sync's batches, deletions, search-time indexing
    (folder_index_uids) and the body indexer then never interleave, so no UID is inserted twice
    and no body is written for a message being deleted.
    """
    if folder_ids:
        list(Folder.objects.select_for_update().filter(pk__in=sorted(folder_ids)).order_by("pk").values_list("pk"))
