"""The directory in headless Chromium: search as you type, live presence, a person's page, 360 px, a11y."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_find_a_colleague_by_typing_and_open_their_page(new_context: Any, owner: Any, colleague: Any, axe: Any) -> None:
    UserFactory(username="zoe", display_name="Zoé Durand", phone="+33 1 44 55 66 77", job_title="Payroll officer")
    page = new_context(owner, viewport={"width": 360, "height": 740}).new_page()
    refusals: list[str] = []
    page.on("console", lambda msg: refusals.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto("/contacts/")
    page.get_by_role("link", name="Directory of colleagues").click()

    people = page.get_by_role("list", name="People of the directory")
    expect(people.get_by_role("listitem")).to_have_count(3)
    assert axe(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("Search the directory").press_sequentially("payroll")
    expect(people.get_by_role("listitem")).to_have_count(1)
    expect(people.get_by_role("link", name="Zoé Durand", exact=True)).to_be_visible()
    expect(people.get_by_role("link", name="Write a mail to Zoé Durand: zoe@example.test")).to_be_visible()
    expect(people.get_by_role("link", name="Call Zoé Durand: +33 1 44 55 66 77")).to_have_attribute(
        "href", "tel:+33144556677"
    )
    assert page.url.endswith("/contacts/directory/?q=payroll")

    people.get_by_role("link", name="Zoé Durand", exact=True).click()
    expect(page.get_by_role("heading", name="Zoé Durand")).to_be_visible()
    expect(page.get_by_role("link", name="Write a mail")).to_have_attribute(
        "href", "/mail/compose/?to=Zo%C3%A9+Durand+%3Czoe%40example.test%3E"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert axe(page) == []
    assert refusals == []


def test_a_colleague_coming_online_shows_up_live(new_context: Any, owner: Any, colleague: Any) -> None:
    olivia = new_context(owner).new_page()
    olivia.goto("/contacts/directory/")
    colin_row = (
        olivia.get_by_role("list", name="People of the directory")
        .get_by_role("listitem")
        .filter(has_text="Colin Colleague")
    )
    expect(colin_row).to_contain_text("Never connected")

    colin = new_context(colleague).new_page()
    colin.goto("/")

    expect(colin_row).to_contain_text("Online")  # pushed over Olivia's WebSocket, no reload
    colin.close()
    expect(colin_row).to_contain_text("Offline · last seen", timeout=5000)


def test_profile_phone_and_job_title_reach_the_directory(new_context: Any, owner: Any, axe: Any) -> None:
    page = new_context(owner, viewport={"width": 360, "height": 740}).new_page()
    page.goto("/accounts/profile/")
    page.get_by_label("Phone").fill("+33 6 12 34 56 78")
    page.get_by_label("Job title").fill("Head of logistics")
    assert axe(page) == []
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()

    page.goto("/contacts/directory/?q=logistics")
    row = page.get_by_role("list", name="People of the directory").get_by_role("listitem")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Olivia Owner")
    expect(row).to_contain_text("+33 6 12 34 56 78")
