"""Stored secrets are encrypted at rest and survive a key rotation."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from apps.core.crypto import (
    SecretDecryptionError,
    decrypt_secret,
    encrypt_secret,
    generate_key,
    secret_fields,
)
from apps.mail.models import MailAccount
from apps.mail.services import mail_account_create

OLD_KEY = generate_key()
NEW_KEY = generate_key()


def _stored_column(account: MailAccount, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM mail_mailaccount WHERE id = %s", [account.pk])  # noqa: S608
        return str(cursor.fetchone()[0])


def test_a_secret_round_trips_and_each_encryption_differs() -> None:
    first, second = encrypt_secret("s3cret pässword"), encrypt_secret("s3cret pässword")

    assert first != second
    assert "s3cret" not in first
    assert decrypt_secret(first) == decrypt_secret(second) == "s3cret pässword"


def test_an_empty_secret_means_not_set() -> None:
    assert encrypt_secret("") == ""
    assert decrypt_secret("") == ""


def test_old_keys_still_decrypt_after_a_new_key_is_put_first() -> None:
    with override_settings(RUCHE_CREDENTIALS_KEYS=[OLD_KEY]):
        token = encrypt_secret("hunter2")
    with override_settings(RUCHE_CREDENTIALS_KEYS=[NEW_KEY, OLD_KEY]):
        assert decrypt_secret(token) == "hunter2"


def test_a_secret_without_its_key_cannot_be_read() -> None:
    with override_settings(RUCHE_CREDENTIALS_KEYS=[OLD_KEY]):
        token = encrypt_secret("hunter2")
    with override_settings(RUCHE_CREDENTIALS_KEYS=[NEW_KEY]), pytest.raises(SecretDecryptionError) as caught:
        decrypt_secret(token)
    assert token not in str(caught.value)


def test_a_malformed_key_names_the_setting() -> None:
    with (
        override_settings(RUCHE_CREDENTIALS_KEYS=["not-a-key"]),
        pytest.raises(ImproperlyConfigured, match="RUCHE_CREDENTIALS_KEYS"),
    ):
        encrypt_secret("x")


def test_mail_account_passwords_are_secret_fields() -> None:
    assert (MailAccount, "imap_password") in secret_fields()
    assert (MailAccount, "smtp_password") in secret_fields()


@pytest.mark.django_db
def test_the_database_column_never_holds_the_plaintext(owner) -> None:
    account = mail_account_create(
        owner=owner, email_address="olivia@example.test", imap_host="imap.example.test", imap_password="hunter2"
    )

    stored = _stored_column(account, "imap_password")

    assert stored != ""
    assert "hunter2" not in stored
    assert decrypt_secret(stored) == "hunter2"


@pytest.mark.django_db
def test_rotation_re_encrypts_every_secret_with_the_first_key(owner) -> None:
    with override_settings(RUCHE_CREDENTIALS_KEYS=[OLD_KEY]):
        account = mail_account_create(
            owner=owner,
            email_address="olivia@example.test",
            imap_host="imap.example.test",
            imap_password="imap-pass",
            smtp_password="smtp-pass",
        )
    before = _stored_column(account, "imap_password")

    with override_settings(RUCHE_CREDENTIALS_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("credentials_rotate", stdout=io.StringIO())

    after_imap, after_smtp = _stored_column(account, "imap_password"), _stored_column(account, "smtp_password")
    assert after_imap != before
    with override_settings(RUCHE_CREDENTIALS_KEYS=[NEW_KEY]):  # the old key can now be dropped
        assert decrypt_secret(after_imap) == "imap-pass"
        assert decrypt_secret(after_smtp) == "smtp-pass"


@pytest.mark.django_db
def test_rotation_changes_nothing_when_a_secret_cannot_be_decrypted(owner) -> None:
    with override_settings(RUCHE_CREDENTIALS_KEYS=[OLD_KEY]):
        account = mail_account_create(
            owner=owner, email_address="olivia@example.test", imap_host="imap.example.test", imap_password="x"
        )
    before = _stored_column(account, "imap_password")

    with override_settings(RUCHE_CREDENTIALS_KEYS=[NEW_KEY]), pytest.raises(CommandError, match="nothing"):
        call_command("credentials_rotate")

    assert _stored_column(account, "imap_password") == before


def test_credentials_key_prints_a_usable_key(capsys) -> None:
    call_command("credentials_key")
    key = capsys.readouterr().out.strip()

    with override_settings(RUCHE_CREDENTIALS_KEYS=[key]):
        assert decrypt_secret(encrypt_secret("ok")) == "ok"
