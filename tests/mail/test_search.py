"""Search over the index: words (full text, prefixes, accents), operators, and scoping to the user."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from apps.mail.models import Folder, MessageBody
from apps.mail.search import parse_query, search_messages
from tests.mail.index_factories import make_account, make_folder, make_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(owner: Any) -> Folder:
    return make_folder(make_account(owner))


def subjects(folders: Any, text: str) -> list[str]:
    return [m.subject for m in search_messages(folders=folders, query=parse_query(text))]


def mine(owner: Any) -> Any:
    return Folder.objects.filter(account__owner=owner)


def test_query_language_is_read() -> None:
    q = parse_query(
        'budget from:alice to:bob subject:"weekly report" has:attachment is:unread '
        "is:flagged before:2026-01-31 after:2025-12-01 in:sent"
    )
    assert q.words == ["budget"]
    assert (q.senders, q.recipients, q.subjects) == (["alice"], ["bob"], ["weekly report"])
    assert (q.has_attachment, q.unread, q.flagged, q.folder) == (True, True, True, "sent")
    assert (q.before, q.after) == (date(2026, 1, 31), date(2025, 12, 1))


def test_bad_date_and_unbalanced_quote_do_not_break_the_query() -> None:
    q = parse_query('before:yesterday subject:"oops')
    assert q.problems == ["before:yesterday"]
    assert parse_query('"unbalanced').words == ["unbalanced"]


def test_word_prefix_matches_subject_as_you_type(owner: Any, inbox: Folder) -> None:
    make_message(inbox, subject="Quarterly invoice for November")
    make_message(inbox, subject="Lunch on Friday")
    assert subjects(mine(owner), "invo") == ["Quarterly invoice for November"]
    assert subjects(mine(owner), "invoice november") == ["Quarterly invoice for November"]
    assert subjects(mine(owner), "invoice friday") == []


def test_words_match_sender_and_indexed_body(owner: Any, inbox: Folder) -> None:
    make_message(inbox, subject="Hello", from_name="Gaëlle Martin", from_address="gaelle@asso.example")
    indexed = make_message(inbox, subject="Minutes")
    MessageBody.objects.create(message=indexed, text="The treasurer presented the budget.")
    assert subjects(mine(owner), "martin") == ["Hello"]
    assert subjects(mine(owner), "treasurer") == ["Minutes"]


def test_accents_are_folded(owner: Any, inbox: Folder, django_db_blocker: Any) -> None:
    make_message(inbox, subject="Réunion d'été")
    assert subjects(mine(owner), "reunion ete") == ["Réunion d'été"]


def test_renamed_subject_is_found_by_its_new_words(owner: Any, inbox: Folder) -> None:
    message = make_message(inbox, subject="Draft agenda")
    message.subject = "Final agenda"
    message.save()
    assert subjects(mine(owner), "final") == ["Final agenda"]
    assert subjects(mine(owner), "draft") == []


def test_operators_narrow_the_results(owner: Any, inbox: Folder) -> None:
    sent = make_folder(inbox.account, name="Sent", role="sent")
    make_message(inbox, subject="A", from_address="alice@example.org", seen=False, days_ago=10)
    make_message(inbox, subject="B", from_address="bob@example.org", seen=True, flagged=True, days_ago=5)
    make_message(inbox, subject="C", from_address="alice@example.org", has_attachments=True, days_ago=1)
    make_message(sent, subject="D", to=[["Bob", "bob@example.org"]], days_ago=2)
    folders = mine(owner)
    assert subjects(folders, "from:alice") == ["C", "A"]
    assert subjects(folders, "is:unread") == ["C", "D", "A"]
    assert subjects(folders, "is:flagged") == ["B"]
    assert subjects(folders, "has:attachment") == ["C"]
    assert subjects(folders, "to:bob") == ["D"]
    assert subjects(folders, "in:sent") == ["D"]
    assert subjects(folders, "after:2026-10-28 before:2026-10-31") == ["D"]


def test_search_never_reaches_another_users_mail(owner: Any, outsider: Any, inbox: Folder) -> None:
    theirs = make_folder(make_account(outsider))
    make_message(theirs, subject="Outsider secret plans")
    make_message(inbox, subject="My plans")
    assert subjects(mine(owner), "plans") == ["My plans"]


def test_deleted_messages_leave_the_index(owner: Any, inbox: Folder) -> None:
    message = make_message(inbox, subject="Ephemeral note")
    message.delete()
    make_message(inbox, subject="Other")
    assert subjects(mine(owner), "ephemeral") == []


def test_search_page_shows_only_the_users_results(owner: Any, outsider: Any, inbox: Folder) -> None:
    from django.test import Client

    make_message(inbox, subject="Budget 2027 draft")
    make_message(make_folder(make_account(outsider)), subject="Budget of the outsider")
    client = Client()
    client.force_login(owner)
    html = client.get("/mail/search/", {"q": "budget"}).content.decode()
    assert "Budget 2027 draft" in html
    assert "outsider" not in html
    partial = client.get("/mail/search/", {"q": "budg", "partial": "list"}).content.decode()
    assert "Budget 2027 draft" in partial
    assert "<html" not in partial
