"""Search-time indexing: messages a search found on the server below the sync's indexed window
get their rows at once (apps/mail/search.py asks), made by the same code as the sync's."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from apps.mail.imap import ImapConnection
from apps.mail.imap_parse import uid_set_from
from apps.mail.models import Folder, Message
from apps.mail.sync_rows import IndexEntry, _entry_from, entries_insert
from apps.mail.sync_tree import folder_rows_lock

INDEX_UIDS_MAX = 200


def folder_index_uids(*, folder: Folder, imap: ImapConnection, uids: Sequence[int], uidvalidity: int) -> list[int]:
    """Indexes these UIDs of the folder now, out of the backfill's order; returns their Message ids.

    A search found them on the server below the indexed window (`backfill_below`): they get their
    rows at once, made by the same code as the sync's, so they can be listed and opened like any
    other. At most INDEX_UIDS_MAX UIDs (the newest); UIDs already indexed are not fetched again,
    and UIDs gone from the server are left out. `uidvalidity` is what the caller saw on `imap`:
    if the folder's index now belongs to another UIDVALIDITY, nothing is written.
    """
    wanted = sorted({int(uid) for uid in uids if int(uid) > 0})[-INDEX_UIDS_MAX:]
    if not wanted:
        return []
    known = set(Message.objects.filter(folder=folder, uid__in=wanted).values_list("uid", flat=True))
    missing = [uid for uid in wanted if uid not in known]
    wanted_missing = set(missing)
    fetched = imap.fetch_headers(folder.name, uid_set_from(missing)) if missing else []
    now = timezone.now()
    with transaction.atomic():
        folder_rows_lock(folder_ids=[folder.pk])
        current = Folder.objects.filter(pk=folder.pk).values_list("uidvalidity", flat=True).first()
        if current != uidvalidity:
            return []  # rebuilt (or deleted) meanwhile: these UIDs mean nothing any more
        existing = set(Message.objects.filter(folder=folder, uid__in=wanted).values_list("uid", flat=True))
        entries: dict[int, IndexEntry] = {}
        for item in fetched:
            if item.uid in wanted_missing and item.uid not in existing:
                entries[item.uid] = _entry_from(folder.account_id, folder.pk, item, now)
        entries_insert(account_id=folder.account_id, entries=list(entries.values()))
    return list(Message.objects.filter(folder=folder, uid__in=wanted).values_list("id", flat=True))
