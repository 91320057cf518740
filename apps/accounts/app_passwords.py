"""App passwords: one named, revocable password per device or program, and the DAV sign-in rule.

The rule (`dav_basic_authenticate`): a person with two-factor authentication must use an app
password for DAV (HTTP Basic cannot carry a second factor); a person without it may also use
their account password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import AppPassword, User

# No 0/o, 1/l/i: the secret is read from one screen and typed on a phone.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_ALPHABET_SET = frozenset(ALPHABET)
GROUPS, GROUP_SIZE = 6, 4  # 24 characters, ~119 bits
SECRET_LENGTH = GROUPS * GROUP_SIZE
NAME_MAX_LENGTH = 100
# Stamping "last used" on every DAV request would write on every request; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)
# Two-factor methods that make an account password insufficient (recovery codes alone are not one).
MFA_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


@dataclass(frozen=True)
class NewAppPassword:
    app_password: AppPassword
    secret: str  # shown once, never stored


def _normalise(secret: str) -> str:
    # Accept the secret as shown (groups with dashes), with spaces, or in capitals.
    return "".join(ch for ch in secret.lower() if ch not in "- ")


# ---------------------------------------------------------------- writes
@transaction.atomic
def app_password_create(*, user: User, name: str) -> NewAppPassword:
    """Creates an app password; the returned secret is the only copy that ever exists."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the app password a name, for example the device it is for."), code="name")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(_("The name is too long."), code="name")
    raw = "".join(secrets.choice(ALPHABET) for _i in range(SECRET_LENGTH))
    app_password = AppPassword.objects.create(
        user=user, name=name, lookup=raw[:GROUP_SIZE], secret_hash=make_password(raw)
    )
    shown = "-".join(raw[i : i + GROUP_SIZE] for i in range(0, SECRET_LENGTH, GROUP_SIZE))
    return NewAppPassword(app_password=app_password, secret=shown)


@transaction.atomic
def app_password_revoke(*, app_password: AppPassword) -> None:
    """Revoked means gone: the secret stops working at the next request."""
    app_password.delete()


# ---------------------------------------------------------------- reads and access
def app_passwords_of(*, user: User) -> QuerySet[AppPassword]:
    return AppPassword.objects.filter(user=user).order_by("-created_at", "-pk")


def app_password_for_user(*, user: User, app_password_id: int) -> AppPassword:
    """One of the user's own app passwords, or 404 (another person's does not exist for you)."""
    if not user.is_authenticated:
        raise Http404
    try:
        return AppPassword.objects.get(pk=app_password_id, user_id=user.pk)
    except (AppPassword.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def _active_user(username: str) -> User | None:
    if not username or "\x00" in username:  # PostgreSQL refuses NUL in text: a 500 otherwise
        return None
    return User.objects.filter(username=username, is_active=True).first()


def _check_for(user: User, secret: str) -> AppPassword | None:
    raw = _normalise(secret)
    # Anything outside the alphabet cannot match, and must not reach the database (NUL bytes).
    if len(raw) != SECRET_LENGTH or not set(raw) <= _ALPHABET_SET:
        return None
    for candidate in AppPassword.objects.filter(user=user, lookup=raw[:GROUP_SIZE]):
        if check_password(raw, candidate.secret_hash):
            now = timezone.now()
            AppPassword.objects.filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION), pk=candidate.pk
            ).update(last_used_at=now)
            return candidate
    return None


def app_password_check(username: str, secret: str) -> User | None:
    """The active user this app password belongs to (stamping its last use), or None."""
    user = _active_user(username)
    if user is None:
        return None
    return user if _check_for(user, secret) is not None else None


def user_has_mfa(user: User) -> bool:
    return bool(is_mfa_enabled(user, types=list(MFA_TYPES)))


def dav_basic_authenticate(username: str, password: str) -> User | None:
    """HTTP Basic for DAV: an app password always; the account password only without 2FA."""
    user = _active_user(username)
    if user is None:
        # Hash anyway, so an unknown name answers as slowly as a wrong password.
        make_password(password)
        return None
    if _check_for(user, password) is not None:
        return user
    if user_has_mfa(user):
        return None
    return user if user.check_password(password) else None
