"""PostgreSQL settings of the sync's writes (apps/mail/sync.py): relaxed commits of its batches,
and the planner's statistics refreshed after a large backfill, once even when several accounts
finish at the same time. Both do nothing on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import connection

from apps.mail.models import Message

ANALYZE_AFTER = 5000
# pg_advisory_lock key of the statistics refresh ("ruche" + 1): one ANALYZE of the index at a time.
_REFRESH_LOCK = 0x7275636865_01


def statistics_refresh(*, added: Mapping[int, int]) -> None:
    """After a large backfill (`added`: new rows by folder id), refresh PostgreSQL's statistics at once.

    Autovacuum may be off, and on a shared table 100k new rows of one account do not reach its
    threshold: with stale statistics the planner picks sequential scans (the first list page of
    a fresh 100k mailbox took 140 ms instead of 15 ms).

    Accounts synced at the same time (a team's first day) each finished with their own ANALYZE,
    the second waiting for the first (it locks the table) and then sampling much the same rows
    again. One refresh runs at a time now, and a sync skips its own when the statistics already
    show its fullest folder with at least half the rows it added there: an ANALYZE that ran
    meanwhile counted them.
    """
    if sum(added.values()) < ANALYZE_AFTER or connection.vendor != "postgresql":
        return
    folder_id, rows = max(added.items(), key=lambda item: item[1])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [_REFRESH_LOCK])
        try:
            if _rows_known(cursor, folder_id) < rows / 2:
                cursor.execute("ANALYZE mail_message, mail_thread")
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_REFRESH_LOCK])


def _rows_known(cursor: Any, folder_id: int) -> float:
    """The folder's rows as the planner's statistics count them (0 when it is not among the
    column's most common values: unknown to them, or too small to matter)."""
    table = Message._meta.db_table
    cursor.execute(
        """
        SELECT s.most_common_freqs[array_position(s.most_common_vals::text::bigint[], %s::bigint)]
               * greatest(c.reltuples, 0)
        FROM pg_stats s, pg_class c
        WHERE c.oid = to_regclass(%s) AND s.schemaname = current_schema() AND s.tablename = %s
              AND s.attname = 'folder_id'
        """,
        [folder_id, table, table],
    )
    row = cursor.fetchone()
    return float(row[0]) if row and row[0] is not None else 0.0


def relaxed_commit() -> None:
    """On PostgreSQL, this transaction's commit does not wait for the disk flush.

    The index is derived from the server: a database crash may lose the last batches, and with
    them the progress fields written in the same transaction, so the next sync fetches them again.
    The flush costs ~30 ms per batch on a slow disk.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
