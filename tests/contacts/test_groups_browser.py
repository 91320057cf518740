"""In headless Chromium at phone width: groups, duplicates and merge, a background import with its progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from playwright.sync_api import expect

from apps.contacts import groups, services
from apps.contacts.models import Contact
from groupware.celery import app

pytestmark = [pytest.mark.browser]

PHONE = {"width": 360, "height": 740}
CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b-1\r\nFN:Ada Lovelace\r\nEMAIL:ada@engine.test\r\n"
    "CATEGORIES:Friends\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:b-2\r\nFN:Lovelace Ada\r\nEMAIL:ADA@engine.test\r\n"
    "TEL:+44 20 7946 0000\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b-3\r\nFN:Charles Babbage\r\nEND:VCARD\r\n"
)


def _no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_groups_duplicates_and_merge_at_phone_width(new_context: Any, owner: Any, axe: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    services.book_import(book=book, data=CARDS.encode())
    page = new_context(owner, viewport=PHONE).new_page()

    # A contact's page: add Charles to the existing group from its field (keyboard only).
    page.goto(f"/contacts/{Contact.objects.get(uid='b-3').pk}/")
    expect(page.get_by_role("heading", name="Groups")).to_be_visible()
    page.get_by_label("Add to a group").fill("Friends")
    page.get_by_label("Add to a group").press("Enter")
    expect(page.get_by_role("link", name="Friends")).to_be_visible()
    assert _no_horizontal_scroll(page)
    assert axe(page) == []

    # The list's tools: filter by group.
    page.goto(f"/contacts/?book={book.pk}")
    page.get_by_label("Group").select_option("Friends")
    page.get_by_role("button", name="Show group").click()
    expect(page.get_by_role("heading", name="Friends")).to_be_visible()
    expect(page.get_by_role("link", name="Charles Babbage")).to_be_visible()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    assert _no_horizontal_scroll(page)
    assert axe(page) == []

    # Rename the group.
    page.get_by_label("New name").fill("Inventors")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("heading", name="Inventors")).to_be_visible()
    assert {g.name for g in groups.book_groups(book=book)} == {"Inventors"}

    # Duplicates: Ada twice (same mail, same name); preview, then merge.
    page.goto(f"/contacts/?book={book.pk}")
    page.get_by_role("link", name="Find duplicates").click()
    expect(page.get_by_role("heading", name="Likely duplicates")).to_be_visible()
    assert _no_horizontal_scroll(page)
    assert axe(page) == []
    page.get_by_role("link", name="Merge into the first").first.click()
    expect(page.get_by_role("heading", name="Merge contacts")).to_be_visible()
    expect(page.get_by_text("Phone: +44 20 7946 0000", exact=True)).to_be_visible()  # the preview lists what is added
    assert _no_horizontal_scroll(page)
    assert axe(page) == []
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page.get_by_text("Contacts merged.")).to_be_visible()
    assert Contact.objects.filter(book=book, uid__in=["b-1", "b-2"]).count() == 1


@pytest.mark.usefixtures("_forget_broker_keys")
def test_a_background_import_shows_its_progress(new_context: Any, owner: Any, axe: Any, tmp_path: Path) -> None:
    book = services.book_ensure_personal(user=owner)
    cards = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:i-{n}\r\nFN:Imported {n}\r\nEND:VCARD\r\n" for n in range(1, 1201)
    )
    upload = tmp_path / "many.vcf"
    upload.write_text(cards + "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\n")
    page = new_context(owner, viewport=PHONE).new_page()
    page.goto(f"/contacts/?book={book.pk}")
    page.get_by_role("link", name="Import", exact=True).click()
    assert axe(page) == []
    page.get_by_label("A .vcf file (vCard 3.0 or 4.0, one or many cards)").set_input_files(str(upload))
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Waiting for the import to start")
    expect(page.get_by_label("Cards imported")).to_be_visible()
    assert _no_horizontal_scroll(page)
    assert axe(page) == []
    # The worker starts only now: the page, already open, follows the job by polling.
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        expect(page.get_by_role("status")).to_contain_text("1200 new, 0 updated", timeout=60_000)
    expect(page.get_by_text("Card 1201:")).to_be_visible()
    assert page.get_by_label("Cards imported").evaluate("bar => [bar.value, bar.max]") == [1201, 1201]
    assert Contact.objects.filter(book=book).count() == 1200
    assert axe(page) == []
