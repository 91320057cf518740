"""Mail events for browsers, published after commit to the owner's group (apps.core.events).

Payloads carry ids and counts, never rows: the page fetches what it shows.

* "mail.folders"  {account_id, folders: [{id, unread, total}]}: counts changed.
* "mail.messages" {account_id, folder_id, added, changed, removed}: message ids of one folder;
  `reload` is true (and the lists empty) when a change is too large to list, e.g. a folder rebuilt.
* "mail.sync"     {account_id, state, done, total, error}: sync progress ("running", "done",
  "error", "paused"); `folder_id` names the folder being filled while running.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NotRequired, TypedDict

from apps.core.events import group_send_on_commit, user_group

MAX_IDS = 2000  # more than this in one event: the page reloads the list instead


class FolderCounts(TypedDict):
    id: int
    unread: int
    total: int


class FoldersPayload(TypedDict):
    account_id: int
    folders: list[FolderCounts]


class MessagesPayload(TypedDict):
    account_id: int
    folder_id: int
    added: list[int]
    changed: list[int]
    removed: list[int]
    reload: NotRequired[bool]


class SyncPayload(TypedDict):
    account_id: int
    state: str
    done: int
    total: int
    error: str
    folder_id: NotRequired[int]


def publish_folders(*, owner_id: int, account_id: int, folders: Sequence[FolderCounts]) -> None:
    payload: FoldersPayload = {"account_id": account_id, "folders": list(folders)}
    group_send_on_commit(user_group(owner_id), "mail.folders", dict(payload))


def publish_messages(
    *,
    owner_id: int,
    account_id: int,
    folder_id: int,
    added: Sequence[int] = (),
    changed: Sequence[int] = (),
    removed: Sequence[int] = (),
    reload: bool = False,
) -> None:
    if not (added or changed or removed or reload):
        return
    payload: MessagesPayload = {
        "account_id": account_id,
        "folder_id": folder_id,
        "added": list(added),
        "changed": list(changed),
        "removed": list(removed),
    }
    if reload or len(added) + len(changed) + len(removed) > MAX_IDS:
        payload["added"], payload["changed"], payload["removed"] = [], [], []
        payload["reload"] = True
    group_send_on_commit(user_group(owner_id), "mail.messages", dict(payload))


def publish_sync(
    *,
    owner_id: int,
    account_id: int,
    state: str,
    done: int = 0,
    total: int = 0,
    error: str = "",
    folder_id: int | None = None,
) -> None:
    payload: SyncPayload = {"account_id": account_id, "state": state, "done": done, "total": total, "error": error}
    if folder_id is not None:
        payload["folder_id"] = folder_id
    group_send_on_commit(user_group(owner_id), "mail.sync", dict(payload))


# ---------------------------------------------------------------- folder tree (apps.mail.organise)
class FolderTreePayload(FoldersPayload):
    tree: bool  # folders were created, renamed, deleted or (un)subscribed: pages redraw the folder list


def publish_folder_tree(*, owner_id: int, account_id: int, folders: Sequence[FolderCounts]) -> None:
    """A "mail.folders" event that also tells pages the folder tree itself changed."""
    payload: FolderTreePayload = {"account_id": account_id, "folders": list(folders), "tree": True}
    group_send_on_commit(user_group(owner_id), "mail.folders", dict(payload))
