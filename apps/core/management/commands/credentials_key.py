"""Prints a new key for RUCHE_CREDENTIALS_KEYS."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.crypto import generate_key


class Command(BaseCommand):
    help = (
        "Print a new Fernet key for RUCHE_CREDENTIALS_KEYS. To rotate: put the new key first "
        "(RUCHE_CREDENTIALS_KEYS=new,old), run credentials_rotate, then drop the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(generate_key())
