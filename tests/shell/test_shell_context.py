"""The shell's context: the status menu shows the user's status; fragments do not pay for the shell."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.chat import presence
from apps.core import context_processors
from tests.mail.index_factories import make_account, make_folder, make_message

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def _checked_status(html: str) -> str:
    for value in ("available", "busy"):
        if f'name="status" value="{value}" checked' in html:
            return value
    raise AssertionError("no status is checked in the menu")


def test_the_menu_shows_the_status_the_user_set(owner: Any, owner_client: Client) -> None:
    assert _checked_status(owner_client.get("/").content.decode()) == "available"
    presence.presence_set_busy(user_id=owner.pk, busy=True)
    assert _checked_status(owner_client.get("/").content.decode()) == "busy"
    presence.presence_set_busy(user_id=owner.pk, busy=False)
    assert _checked_status(owner_client.get("/").content.decode()) == "available"


def test_a_page_reads_the_status_once_and_a_fragment_never(
    owner: Any, owner_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def counted(user_id: int) -> bool:  # the real read, counted
        calls.append(user_id)
        return presence.is_busy(user_id)

    monkeypatch.setattr(context_processors, "is_busy", counted)
    inbox = make_folder(make_account(owner))
    make_message(inbox, subject="Lunch?")

    page = owner_client.get(f"/mail/f/{inbox.pk}/")
    assert "Lunch?" in page.content.decode()
    assert calls == [owner.pk]  # two radios, one Redis read

    rows = owner_client.get(f"/mail/f/{inbox.pk}/?partial=list")
    assert "Lunch?" in rows.content.decode()
    assert "data-status-form" not in rows.content.decode()
    assert calls == [owner.pk]  # the rows alone: no status read
