"""French and English: the browser's Accept-Language, else English; the profile's choice wins."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect


def test_login_page_follows_the_browsers_french(db: None) -> None:
    response = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Aller au contenu" in html  # our own catalogue
    assert "Se connecter" in html


def test_unknown_language_falls_back_to_english(db: None) -> None:
    html = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
    assert '<html lang="en"' in html
    assert "Skip to content" in html


def test_profile_language_wins_over_the_browser(owner: Any) -> None:
    owner.language = "en"
    owner.save(update_fields=["language"])
    client = Client()
    client.force_login(owner)
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="en"' in html
    assert "Colleagues" in html


@pytest.mark.browser
@pytest.mark.redis
def test_live_presence_labels_are_french_for_a_french_browser(new_context: Any, owner: Any, colleague: Any) -> None:
    olivia = new_context(owner, locale="fr-FR").new_page()
    olivia.goto("/")
    expect(olivia.get_by_role("heading", name="Collègues")).to_be_visible()
    colin_row = olivia.get_by_role("listitem").filter(has_text="Colin Colleague")
    expect(colin_row).to_contain_text("Jamais connecté")
    colin = new_context(colleague).new_page()
    colin.goto("/")
    expect(colin_row).to_contain_text("En ligne")
    colin.close()
    expect(colin_row).to_contain_text("Hors ligne")
