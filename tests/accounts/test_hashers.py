"""The production password hasher: OWASP's Argon2id parameters, older hashes upgraded at sign-in."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password
from django.test import override_settings

from apps.accounts.hashers import RucheArgon2PasswordHasher

PRODUCTION_HASHERS = [
    "apps.accounts.hashers.RucheArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_new_hashes_use_the_small_argon2id_parameters() -> None:
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password("correct horse battery staple", encoded)
    assert not check_password("wrong horse", encoded)


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_a_hash_made_with_djangos_parameters_verifies_and_is_upgraded() -> None:
    old = Argon2PasswordHasher().encode("s3cret-old-hash", Argon2PasswordHasher().salt())
    assert "m=102400" in old
    upgraded: list[str] = []

    assert check_password("s3cret-old-hash", old, setter=upgraded.append)
    assert upgraded == ["s3cret-old-hash"]  # re-hashed with the new parameters at this sign-in
    assert RucheArgon2PasswordHasher().must_update(old)
    assert not RucheArgon2PasswordHasher().must_update(make_password("s3cret-old-hash"))


@override_settings(PASSWORD_HASHERS=PRODUCTION_HASHERS)
def test_a_pbkdf2_hash_still_verifies_and_is_upgraded() -> None:
    old = make_password("legacy-pass", hasher="pbkdf2_sha256")
    upgraded: list[str] = []
    assert check_password("legacy-pass", old, setter=upgraded.append)
    assert upgraded == ["legacy-pass"]
