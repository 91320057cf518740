"""The staff-only status page at /status/."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from apps.core.heartbeats import heartbeat_record
from apps.core.redis import get_redis

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_heartbeats", "no_mail_stack_env")]

STATUS_URL = "/status/"


@pytest.fixture
def staff(owner: Any) -> Any:
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    return owner


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_status_lives_at_slash_status() -> None:
    assert reverse("core:status") == STATUS_URL


def test_staff_sees_every_component_and_what_is_down(staff: Any) -> None:
    heartbeat_record(component="worker")

    response = client_for(staff).get(STATUS_URL)
    html = response.content.decode()

    assert response.status_code == 200
    for label in ("Database", "Redis", "Celery worker", "Celery beat", "Push process", "Mail servers", "Versions"):
        assert label in html
    assert "2 required components are down" in html
    assert "last heartbeat" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_colleague_without_staff_rights_is_refused(colleague: Any) -> None:
    response = client_for(colleague).get(STATUS_URL)

    assert response.status_code == 403


def test_anonymous_visitor_is_sent_to_login(db: None) -> None:
    response = Client().get(STATUS_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_rail_offers_status_to_staff_only(staff: Any, colleague: Any) -> None:
    assert f'href="{STATUS_URL}"' in client_for(staff).get("/").content.decode()
    assert f'href="{STATUS_URL}"' not in client_for(colleague).get("/").content.decode()


@pytest.mark.browser
def test_staff_reads_the_status_page_in_a_browser_and_it_passes_axe(staff: Any, new_context: Any, axe: Any) -> None:
    for component in ("worker", "beat", "push"):
        heartbeat_record(component=component)
    page = new_context(staff).new_page()

    page.goto(STATUS_URL)

    assert page.get_by_role("heading", name="Status", level=1).is_visible()
    assert page.get_by_text("All required components are running.").is_visible()
    assert page.get_by_role("row", name="Database").is_visible()
    assert page.get_by_role("link", name="Status").get_attribute("aria-current") == "page"
    assert axe(page) == []
    page.set_viewport_size({"width": 360, "height": 740})
    violations = axe(page)
    assert violations == [], violations


def test_staff_still_gets_the_page_when_redis_is_down(staff: Any, closed_port: int) -> None:
    client = client_for(staff)
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"):
        get_redis.cache_clear()
        try:
            response = client.get(STATUS_URL)
        finally:
            get_redis.cache_clear()

    assert response.status_code == 200
    row = response.content.decode().split('data-check="redis"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="down"' in row
    assert "does not answer" in row
