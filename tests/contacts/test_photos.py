"""Contact photos: shown as Ruche's own redraw, set and removed through the card, refused to others."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from apps.contacts import services, vcards
from apps.contacts.models import Contact
from apps.core.changes import changes_since, current_token
from apps.core.sharing import ShareLevel, share_grant

pytestmark = pytest.mark.django_db


def _image(fmt: str = "JPEG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, format=fmt)
    return out.getvalue()


def _contact(owner: Any, card: str) -> Contact:
    book = services.book_ensure_personal(user=owner)
    created, _new = services.contact_put(book=book, href="p.vcf", text=card, if_match=None, if_none_match=None)
    return created


def _card_30(photo: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p-30\r\nFN:Ana Lima\r\nX-CUSTOM:keep,me\r\n{photo}END:VCARD\r\n"


def _card_40(photo: str) -> str:
    return f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:p-40\r\nFN:Ana Lima\r\nX-CUSTOM:keep,me\r\n{photo}END:VCARD\r\n"


def _shown(client: Client, contact: Contact) -> Image.Image:
    response = client.get(reverse("contacts:photo", args=[contact.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize(
    "card",
    [
        _card_30(f"PHOTO;ENCODING=b;TYPE=JPEG:{base64.b64encode(_image()).decode()}\r\n"),
        _card_40(f"PHOTO:data:image/png;base64,{base64.b64encode(_image('PNG')).decode()}\r\n"),
    ],
    ids=["3.0 inline", "4.0 data URI"],
)
def test_an_inline_photo_is_shown_redrawn(owner: Any, owner_client: Client, card: str) -> None:
    contact = _contact(owner, card)
    page = owner_client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert reverse("contacts:photo", args=[contact.pk]) in page
    assert 'alt="Photo of Ana Lima"' in page
    assert _shown(owner_client, contact).size == (256, 256)


@pytest.mark.parametrize(
    "photo",
    [
        "PHOTO;VALUE=uri:https://tracker.example/ana.jpg\r\n",  # remote: never fetched
        "PHOTO;ENCODING=b;TYPE=JPEG:PGh0bWw+PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0PjwvaHRtbD4=\r\n",  # HTML, not an image
        "PHOTO:data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\r\n",  # SVG is not accepted
    ],
    ids=["remote", "html", "svg"],
)
def test_a_photo_that_is_not_a_safe_inline_image_is_not_shown(owner: Any, owner_client: Client, photo: str) -> None:
    contact = _contact(owner, _card_30(photo) if "ENCODING" in photo else _card_40(photo))
    page = owner_client.get(reverse("contacts:detail", args=[contact.pk]))
    assert page.status_code == 200
    assert reverse("contacts:photo", args=[contact.pk]) not in page.content.decode()
    assert owner_client.get(reverse("contacts:photo", args=[contact.pk])).status_code == 404


@pytest.mark.parametrize("make_card", [_card_30, _card_40], ids=["3.0", "4.0"])
def test_setting_and_removing_a_photo_keeps_the_rest_of_the_card(
    owner: Any, owner_client: Client, make_card: Any
) -> None:
    contact = _contact(owner, make_card(""))
    token = current_token(contact.book)
    upload = SimpleUploadedFile("me.png", _image("PNG", (300, 500)), content_type="image/png")
    owner_client.post(reverse("contacts:photo_set", args=[contact.pk]), {"photo": upload})
    contact.refresh_from_db()
    assert "X-CUSTOM:keep,me\r\n" in contact.vcard
    assert (
        "PHOTO;ENCODING=b;TYPE=JPEG:" if make_card is _card_30 else "PHOTO:data:image/jpeg;base64,"
    ) in contact.vcard
    assert changes_since(contact.book, token).changed == {"p.vcf": False}
    assert _shown(owner_client, contact).size == (256, 256)

    owner_client.post(reverse("contacts:photo_set", args=[contact.pk]), {"remove": "1"})
    contact.refresh_from_db()
    assert "PHOTO" not in contact.vcard
    assert "X-CUSTOM:keep,me\r\n" in contact.vcard
    assert owner_client.get(reverse("contacts:photo", args=[contact.pk])).status_code == 404


def test_an_upload_that_is_not_an_image_changes_nothing(owner: Any, owner_client: Client) -> None:
    contact = _contact(owner, _card_40(""))
    before = contact.vcard
    fake = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    response = owner_client.post(reverse("contacts:photo_set", args=[contact.pk]), {"photo": fake}, follow=True)
    assert "not an image Ruche can read" in response.content.decode()
    contact.refresh_from_db()
    assert contact.vcard == before


def test_others_cannot_see_or_set_a_photo(owner: Any, colleague: Any, outsider: Any) -> None:
    contact = _contact(owner, _card_40(f"PHOTO:data:image/jpeg;base64,{base64.b64encode(_image()).decode()}\r\n"))
    share_grant(actor=owner, collection=contact.book, owner_id=owner.pk, level=ShareLevel.READ, grantee_user=colleague)
    before = contact.vcard
    for person, can_see in ((outsider, False), (colleague, True)):
        client = Client()
        client.force_login(person)
        assert client.get(reverse("contacts:photo", args=[contact.pk])).status_code == (200 if can_see else 404)
        upload = SimpleUploadedFile("me.png", _image("PNG"), content_type="image/png")
        assert client.post(reverse("contacts:photo_set", args=[contact.pk]), {"photo": upload}).status_code == 404
        assert client.post(reverse("contacts:photo_set", args=[contact.pk]), {"remove": "1"}).status_code == 404
    contact.refresh_from_db()
    assert contact.vcard == before
    assert vcards.parse_card(contact.vcard)
