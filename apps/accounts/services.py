"""Writes on users and their profiles."""

from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.avatars import avatar_png_from_upload
from apps.accounts.models import User

THEMES = ("auto", "light", "dark")


def _delete_file_after_commit(name: str) -> None:
    # The old file goes only once the row no longer points at it.
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@transaction.atomic
def user_update_profile(
    *,
    user: User,
    display_name: str,
    language: str,
    time_zone: str,
    theme: str,
) -> User:
    """Saves the profile fields a user edits on their own profile page."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Unknown language."), code="language")
    if time_zone and time_zone not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone."), code="time_zone")
    if theme not in THEMES:
        raise ValidationError(_("Unknown theme."), code="theme")
    user.display_name = display_name.strip()
    user.language = language
    user.time_zone = time_zone
    user.theme = theme
    user.save(update_fields=["display_name", "language", "time_zone", "theme"])
    return user


@transaction.atomic
def user_set_avatar(*, user: User, upload: UploadedFile) -> User:
    """Replaces the avatar with a PNG thumbnail redrawn from the upload.

    Raises ValidationError (before writing anything) when the upload is not an
    image Ruche accepts.
    """
    png = avatar_png_from_upload(upload)
    old_name = user.avatar.name or ""
    # A generated name: nothing of the uploader's file name reaches the disk.
    new_name = default_storage.save(f"avatars/{user.pk}-{uuid.uuid4().hex}.png", ContentFile(png))
    try:
        user.avatar.name = new_name
        user.save(update_fields=["avatar"])
    except Exception:
        default_storage.delete(new_name)
        raise
    _delete_file_after_commit(old_name)
    return user


@transaction.atomic
def user_remove_avatar(*, user: User) -> User:
    old_name = user.avatar.name or ""
    if not old_name:
        return user
    user.avatar.name = ""
    user.save(update_fields=["avatar"])
    _delete_file_after_commit(old_name)
    return user


# ---------------------------------------------------------------- directory fields (directory work)
# The profile fields that the directory's LDAP feed may own (apps/contacts/ldap_feed.py).
LDAP_PROFILE_FIELDS = frozenset({"display_name", "phone", "job_title"})


def user_ldap_fields(*, user: User) -> frozenset[str]:
    """The profile fields LDAP feeds for this user: read-only on the profile page."""
    if not user.ldap_dn:
        return frozenset()
    return LDAP_PROFILE_FIELDS & frozenset(settings.RUCHE_LDAP_ATTRIBUTES)


@transaction.atomic
def user_update_directory_fields(*, user: User, phone: str, job_title: str) -> User:
    """Saves what colleagues see of a user in the directory. A field LDAP feeds cannot be changed here."""
    values = {"phone": phone.strip()[:64], "job_title": job_title.strip()[:150]}
    managed = user_ldap_fields(user=user)
    changed = [name for name, value in values.items() if getattr(user, name) != value]
    if managed.intersection(changed):
        raise ValidationError(_("This field is managed by your organisation's directory."), code="ldap")
    for name in changed:
        setattr(user, name, values[name])
    if changed:
        user.save(update_fields=changed)
    return user
