"""The profile page: display name, avatar, language, time zone, theme."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from PIL import Image

from apps.accounts import services
from apps.accounts.avatars import AVATAR_SIZE

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]

PROFILE = reverse("accounts:profile")


def image_bytes(size=(640, 480), fmt="PNG", color=(200, 120, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt)
    return out.getvalue()


def upload(data: bytes, name="me.png", content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def profile_data(**changes):
    data = {"display_name": "Olivia O.", "language": "", "time_zone": "", "theme": "auto"}
    data.update(changes)
    return data


def test_profile_needs_a_signed_in_user():
    response = Client().get(PROFILE)
    assert response.status_code == 302


def test_owner_saves_display_name_time_zone_and_theme(owner_client, owner):
    response = owner_client.post(PROFILE, profile_data(time_zone="Europe/Paris", theme="dark"))
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.display_name, owner.time_zone, owner.theme) == ("Olivia O.", "Europe/Paris", "dark")
    page = owner_client.get(PROFILE).content.decode()
    assert 'data-theme="dark"' in page
    assert "Your profile is saved." in page


def test_an_unknown_time_zone_is_refused(owner_client, owner):
    response = owner_client.post(PROFILE, profile_data(time_zone="Mars/Olympus"))
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    owner.refresh_from_db()
    assert owner.time_zone == ""


def test_after_choosing_french_the_next_page_is_in_french(owner_client, owner):
    owner_client.post(PROFILE, profile_data(language="fr"))
    owner.refresh_from_db()
    assert owner.language == "fr"
    page = owner_client.get(reverse("account_change_password"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="fr"' in page
    assert "Mot de passe actuel" in page  # allauth's own French
    refused = owner_client.post(reverse("account_change_password"), {}).content.decode()
    assert "Ce champ est obligatoire." in refused  # Django's own French


def test_following_the_browser_uses_accept_language(owner_client):
    page = owner_client.get(reverse("account_change_password"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr"' in page
    page = owner_client.get(reverse("account_change_password"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en"' in page


def test_avatar_is_stored_as_a_square_png_under_a_generated_name(owner_client, owner):
    response = owner_client.post(PROFILE, {**profile_data(), "avatar": upload(image_bytes(fmt="JPEG"), "holiday.jpg")})
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.avatar.name.startswith("avatars/")
    assert owner.avatar.name.endswith(".png")
    assert "holiday" not in owner.avatar.name
    with default_storage.open(owner.avatar.name) as stored, Image.open(stored) as image:
        assert (image.format, image.size) == ("PNG", (AVATAR_SIZE, AVATAR_SIZE))
    served = owner_client.get(reverse("accounts:avatar", args=[owner.pk]))
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_new_avatar_replaces_the_old_file(owner_client, owner):
    owner_client.post(PROFILE, {**profile_data(), "avatar": upload(image_bytes())})
    owner.refresh_from_db()
    first = owner.avatar.name
    owner_client.post(PROFILE, {**profile_data(), "avatar": upload(image_bytes(color=(0, 0, 0)))})
    owner.refresh_from_db()
    assert owner.avatar.name != first
    assert default_storage.exists(owner.avatar.name)
    assert not default_storage.exists(first)


def test_remove_avatar_clears_it_and_deletes_the_file(owner_client, owner):
    owner_client.post(PROFILE, {**profile_data(), "avatar": upload(image_bytes())})
    owner.refresh_from_db()
    name = owner.avatar.name
    assert "Remove my avatar" in owner_client.get(PROFILE).content.decode()
    owner_client.post(PROFILE, {**profile_data(), "remove_avatar": "on"})
    owner.refresh_from_db()
    assert not owner.avatar
    assert not default_storage.exists(name)
    assert owner_client.get(reverse("accounts:avatar", args=[owner.pk])).status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"<html><script>alert(1)</script></html>",
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
    ],
    ids=["svg", "html", "truncated-png"],
)
def test_a_file_that_is_not_an_image_is_refused(owner_client, owner, payload):
    response = owner_client.post(PROFILE, {**profile_data(display_name="Changed"), "avatar": upload(payload)})
    assert response.status_code == 200
    assert "This file is not an image Ruche can read." in response.content.decode()
    owner.refresh_from_db()
    assert not owner.avatar
    assert owner.display_name == "Olivia Owner"  # nothing of the form was saved


@override_settings(RUCHE_AVATAR_MAX_BYTES=2048)
def test_an_avatar_over_the_size_limit_is_refused(owner_client, owner):
    noise = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(noise, format="PNG")
    assert len(noise.getvalue()) > 2048  # random pixels do not compress
    response = owner_client.post(PROFILE, {**profile_data(), "avatar": upload(noise.getvalue())})
    assert "The image is too large" in response.content.decode()
    owner.refresh_from_db()
    assert not owner.avatar


def test_an_avatar_with_too_many_pixels_is_refused_before_decoding(owner, monkeypatch):
    from django.core.exceptions import ValidationError

    monkeypatch.setattr("apps.accounts.avatars.AVATAR_MAX_SIDE", 100)
    with pytest.raises(ValidationError) as refused:
        services.user_set_avatar(user=owner, upload=upload(image_bytes(size=(101, 50))))
    assert refused.value.code == "too_many_pixels"


def test_user_remove_avatar_without_an_avatar_changes_nothing(owner):
    assert services.user_remove_avatar(user=owner).avatar.name in ("", None)
