"""Re-encrypts every stored secret with the first key of RUCHE_CREDENTIALS_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.crypto import SecretDecryptionError, secrets_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (mail account passwords…) with the first key of "
        "RUCHE_CREDENTIALS_KEYS. Afterwards the other keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = secrets_rotate()
        except SecretDecryptionError as exc:
            raise CommandError(f"{exc}; nothing was changed.") from exc
        self.stdout.write(f"Re-encrypted {count} stored secret(s) with the first key.")
