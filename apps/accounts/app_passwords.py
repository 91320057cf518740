"""App passwords: one named, revocable password per device or program, and the DAV sign-in rule.

The rule (`dav_basic_authenticate`): a person with two-factor authentication must use an app
password for DAV (HTTP Basic cannot carry a second factor); a person without it may also use
their account password.
"""

from __future__ import annotations

import secrets
import time
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


# ---------------------------------------------------------------- DAV credential cache
# A DAV client sends the password with every request and Argon2 costs tens of ms per check, so a
# verified (username, password) pair is remembered for a few minutes. The key is an HMAC of both
# (nothing reversible is stored); the value says what was verified, and a hit re-checks it with one
# indexed query, so a revoked app password, a changed password, a deactivated account or a newly
# enabled second factor take effect at the next request.
DAV_CACHE_SECONDS = 300
# In front of Redis, each process keeps its last verified credentials for a minute (a Redis round
# trip is a tenth of a DAV request's time); a hit is re-checked against the database all the same.
_DAV_LOCAL_SECONDS = 60
_DAV_LOCAL_MAX = 256
_dav_local: dict[str, tuple[float, tuple[str, int, object]]] = {}


def _dav_cache_key(username: str, password: str) -> str:
    import hmac
    from hashlib import sha256

    from django.conf import settings

    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"{username}\x00{password}".encode("utf-8", "surrogatepass"), sha256
    ).hexdigest()
    return f"dav-auth:{digest}"


def _password_fingerprint(password_hash: str) -> str:
    from hashlib import sha256

    return sha256(password_hash.encode()).hexdigest()[:32]


def _dav_cache_hit(value: object) -> User | None:
    from django.db.models import Exists, OuterRef

    if not (isinstance(value, tuple) and len(value) == 3):
        return None
    kind, user_id, ref = value
    if kind == "app":
        found = list(User.objects.filter(pk=user_id, is_active=True, app_passwords__pk=ref)[:1])
        return found[0] if found else None
    if kind == "password":
        has_mfa = Authenticator.objects.filter(user_id=OuterRef("pk"), type__in=MFA_TYPES)
        users = list(User.objects.filter(pk=user_id, is_active=True).annotate(mfa=Exists(has_mfa))[:1])
        user = users[0] if users else None
        if user is None or user.mfa or _password_fingerprint(user.password) != ref:
            return None
        return user
    return None


def dav_basic_authenticate_cached(username: str, password: str) -> User | None:
    """`dav_basic_authenticate` with the short-lived cache of verified credentials (Redis)."""
    import contextlib

    from django.core.cache import cache

    if "\x00" in username or "\x00" in password:
        return None
    key = _dav_cache_key(username, password)
    now = time.monotonic()
    local = _dav_local.get(key)
    cached: object = local[1] if local is not None and local[0] > now else None
    if cached is None:
        try:
            cached = cache.get(key)
        except Exception:  # Redis down: sign in the slow way rather than refuse everyone
            cached = None
    if cached is not None:
        user = _dav_cache_hit(cached)
        if user is not None and user.username == username:
            _dav_remember(key, cached, now)
            return user
        _dav_local.pop(key, None)
    user = _active_user(username)
    if user is None:
        make_password(password)
        return None
    app_password = _check_for(user, password)
    if app_password is not None:
        value: tuple[str, int, object] = ("app", user.pk, app_password.pk)
    elif not user_has_mfa(user) and user.check_password(password):
        value = ("password", user.pk, _password_fingerprint(user.password))
    else:
        return None
    with contextlib.suppress(Exception):  # the cache only saves time
        cache.set(key, value, DAV_CACHE_SECONDS)
    _dav_remember(key, value, time.monotonic())
    return user


def _dav_remember(key: str, value: object, now: float) -> None:
    if key not in _dav_local and len(_dav_local) >= _DAV_LOCAL_MAX:
        _dav_local.clear()  # rare (hundreds of distinct credentials in a minute): start afresh
    if isinstance(value, tuple):
        _dav_local[key] = (now + _DAV_LOCAL_SECONDS, value)
