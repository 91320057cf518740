"""A French user (language "fr" on the profile) writes and replies in French: page, script texts, server answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from apps.mail.models import Outbox
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync

# French typography: the apostrophe is U+2019 and a no-break space comes before ":".
APOS = "\u2019"

pytestmark = [pytest.mark.browser, pytest.mark.redis]


@pytest.fixture
def french_account(owner: Any, mail_user: Any, mailstack: Any, asgi_server: Any) -> Any:
    owner.language = "fr"
    owner.save(update_fields=["language"])
    account = account_for(owner, mail_user, mailstack)
    deliver(mailstack, mail_user, email_message("Planning", sender="Sam <sam@example.org>", to=mail_user.address))
    sync(account)
    return account


def test_a_french_user_sees_the_reply_actions_and_the_composer_in_french(
    new_context: Any, owner: Any, french_account: Any, axe: Any
) -> None:
    page = new_context(owner).new_page()  # an English browser: the profile's language wins
    page.goto(f"/mail/m/{indexed(french_account, 'Planning').pk}/")
    expect(page.get_by_role("link", name="Répondre à tous", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Transférer en pièce jointe", exact=True)).to_be_visible()
    page.get_by_role("link", name="Répondre", exact=True).click()

    expect(page.get_by_role("heading", name="Répondre")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "fr"
    expect(page.get_by_label("Objet")).to_have_value("Re: Planning")
    expect(page.get_by_text("Cc et Cci")).to_be_visible()
    expect(page.get_by_label("Texte mis en forme (HTML)")).to_be_visible()
    body = page.get_by_label("Message", exact=True)
    expect(body).to_have_value(re.compile(r"Sam a écrit\u00a0:"))
    assert axe(page) == []

    body.press_sequentially(f"D{APOS}accord")  # the autosave's words come from the page's translated labels
    expect(page.get_by_text("Brouillon enregistré à")).to_be_visible(timeout=10_000)


def test_a_french_user_gets_the_questions_before_sending_in_french(
    new_context: Any, owner: Any, french_account: Any, make_mail_user: Any
) -> None:
    to = make_mail_user()
    page = new_context(owner, viewport={"width": 360, "height": 800}).new_page()
    page.goto("/mail/compose/")
    expect(page.get_by_role("heading", name="Nouveau message")).to_be_visible()
    recipients = page.get_by_role("combobox", name="À")
    recipients.fill("pas-une-adresse,")
    expect(page.locator(".chip.invalid")).to_have_attribute("title", "Adresse non valide\u00a0: pas-une-adresse")
    page.get_by_role("button", name="Supprimer pas-une-adresse").click()
    recipients.fill(to.address)
    recipients.press("Enter")
    page.get_by_label("Message", exact=True).fill("Le document est en pièce jointe.")

    page.get_by_role("button", name="Envoyer", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Avant d{APOS}envoyer")
    expect(dialog).to_contain_text(f"L{APOS}objet est vide.")
    expect(dialog).to_contain_text(f"Le texte parle d{APOS}une pièce jointe, mais rien n{APOS}est joint.")
    dialog.get_by_role("button", name="Envoyer quand même").click()
    expect(page.get_by_role("status").filter(has_text="Envoi dans")).to_be_visible()
    expect(page.get_by_role("button", name="Annuler")).to_be_visible()
    assert Outbox.objects.filter(owner=owner).count() == 1
