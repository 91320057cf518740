"""Secrets stored at rest (mail passwords, tokens of remote services), encrypted with MultiFernet.

Keys come from settings.RUCHE_CREDENTIALS_KEYS: the first key encrypts, every key decrypts, so a
new key can be put first and the old ones removed after `manage.py credentials_rotate`.

Model fields holding secrets are `SecretField`s: they store the Fernet token, never the plaintext,
and the model attribute is that token too, so nothing renders or logs a secret by accident.
Plaintext exists only where `decrypt_secret()` is called, right before it is used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction


class SecretDecryptionError(Exception):
    """A stored secret that none of the configured keys can decrypt."""


if TYPE_CHECKING:
    _TextField = models.TextField[str, str]
else:
    _TextField = models.TextField  # django-stubs' generics do not exist at run time


class SecretField(_TextField):
    """Holds a Fernet token made by `encrypt_secret()`; empty string means "no secret set"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)  # forms take plaintext in their own write-only fields
        super().__init__(*args, **kwargs)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("RUCHE_CREDENTIALS_KEYS is empty: generate a key with ./manage.py credentials_key.")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "RUCHE_CREDENTIALS_KEYS holds a value that is not a Fernet key "
            "(generate one with ./manage.py credentials_key)."
        ) from exc


def _current() -> MultiFernet:
    return _fernet(tuple(settings.RUCHE_CREDENTIALS_KEYS))


def generate_key() -> str:
    return Fernet.generate_key().decode()


def encrypt_secret(plaintext: str) -> str:
    """Returns the token to store; an empty secret stays empty (means "not set")."""
    if plaintext == "":
        return ""
    return _current().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    if token == "":
        return ""
    try:
        return _current().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never include the token: it is useless to a reader and still sensitive.
        raise SecretDecryptionError(
            "a stored secret cannot be decrypted with RUCHE_CREDENTIALS_KEYS (was a key removed before rotating?)"
        ) from None


def rotate_secret(token: str) -> str:
    """Re-encrypts a token with the first key (decrypting with any of them)."""
    if token == "":
        return ""
    try:
        return _current().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretDecryptionError(
            "a stored secret cannot be decrypted with RUCHE_CREDENTIALS_KEYS (was a key removed before rotating?)"
        ) from None


def secret_fields() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) holding a secret, across all apps."""
    found = []
    for model in apps.get_models():
        for model_field in model._meta.get_fields():
            if isinstance(model_field, SecretField):
                found.append((model, model_field.name))
    return found


def secrets_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypts every stored secret with the first key; returns how many values changed.

    All or nothing: if one value cannot be decrypted, nothing is written.
    """
    count = 0
    with transaction.atomic():
        for model, name in secret_fields():
            rows = model._default_manager.exclude(**{name: ""}).only("pk", name)
            changed = []
            for row in rows.iterator(chunk_size=batch_size):
                setattr(row, name, rotate_secret(getattr(row, name)))
                changed.append(row)
            model._default_manager.bulk_update(changed, [name], batch_size=batch_size)
            count += len(changed)
    return count
