"""The sync's PostgreSQL statistics refresh (apps.mail.sync_tuning): once per backfill, not twice."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.mail.bulk import insert_rows
from apps.mail.models import Folder, Message
from apps.mail.sync_rows import MESSAGE_COLUMNS
from apps.mail.sync_tuning import ANALYZE_AFTER, statistics_refresh
from tests.mail.index_factories import make_account, make_folder

pytestmark = pytest.mark.django_db


def _fill(folder: Folder, count: int) -> None:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    row: dict[str, Any] = dict.fromkeys(MESSAGE_COLUMNS, "")
    row.update(
        account=folder.account_id, folder=folder.pk, modseq=None, date=when, internal_date=when, sort_date=when,
        size=1, seen=True, flagged=False, answered=False, draft=False, deleted=False, has_attachments=False,
        list_unsubscribe_post=False, spam_score=None, spam_flag=False, thread=None, to=[], cc=[], reply_to=[],
        keywords=[],
    )  # fmt: skip
    rows = [tuple({**row, "uid": uid}[name] for name in MESSAGE_COLUMNS) for uid in range(1, count + 1)]
    insert_rows(Message, MESSAGE_COLUMNS, rows)


def _analyzed(refresh: Any) -> bool:
    with CaptureQueriesContext(connection) as queries:
        refresh()
    return any(query["sql"].startswith("ANALYZE") for query in queries.captured_queries)


def test_small_syncs_leave_the_statistics_to_autovacuum(owner: Any) -> None:
    folder = make_folder(make_account(owner))

    assert not _analyzed(lambda: statistics_refresh(added={folder.pk: ANALYZE_AFTER - 1}))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL statistics")
def test_a_backfill_whose_rows_an_analyze_already_counted_does_not_analyze_again(owner: Any) -> None:
    account = make_account(owner)
    first, second = make_folder(account), make_folder(account, name="Archive", role="archive")
    _fill(first, ANALYZE_AFTER)

    assert _analyzed(lambda: statistics_refresh(added={first.pk: ANALYZE_AFTER}))
    # Another account's sync ending just after: the ANALYZE above already counted its rows.
    assert not _analyzed(lambda: statistics_refresh(added={first.pk: ANALYZE_AFTER}))

    _fill(second, ANALYZE_AFTER + 10)  # rows no statistics have seen yet

    assert _analyzed(lambda: statistics_refresh(added={first.pk: 1, second.pk: ANALYZE_AFTER + 10}))
