"""`./manage.py mail_sync ACCOUNT`: one account's sync in the foreground, with progress and rate.

ACCOUNT is the account's id or its email address (when one user only has it). It runs the same
service as the worker (apps.mail.sync.account_sync), also for a paused account: running it is
the administrator's explicit retry.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.mail.imap import ImapError
from apps.mail.models import Folder, MailAccount
from apps.mail.sync import SyncBusy, account_sync

BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Sync one mail account now, in the foreground, and print the rate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account", help="account id or email address")

    def handle(self, *args: Any, **options: Any) -> None:
        account = _find_account(options["account"])
        tty = sys.stdout.isatty() and self.stdout._out is sys.stdout
        started = time.monotonic()
        last_line = [0.0]

        def progress(folder: Folder, done: int, total: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            if tty:
                filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
                bar = "#" * filled + "-" * (BAR_WIDTH - filled)
                self.stdout.write(
                    f"\r{folder.name[:24]:<24} [{bar}] {done}/{total}  {done / elapsed:,.0f} msg/s", ending=""
                )
                self.stdout.flush()
            elif time.monotonic() - last_line[0] > 1 or done == total:
                last_line[0] = time.monotonic()
                self.stdout.write(f"{folder.name}: {done}/{total}")

        try:
            result = account_sync(account_id=account.pk, progress=progress, force=True)
        except SyncBusy as exc:
            raise CommandError("Another worker is syncing this account right now; try again later.") from exc
        except ImapError as exc:
            if tty:
                self.stdout.write("")
            raise CommandError(str(exc)) from exc
        if tty:
            self.stdout.write("")
        seconds = max(result.seconds, 1e-6)
        self.stdout.write(
            f"{account.email_address}: {result.added} new, "
            f"{sum(f.changed for f in result.folders)} changed, {sum(f.removed for f in result.folders)} removed "
            f"in {len(result.folders)} folders, {seconds:.2f} s ({result.added / seconds:,.0f} msg/s)"
        )


def _find_account(value: str) -> MailAccount:
    if value.isdigit():
        account = MailAccount.objects.filter(pk=int(value)).first()
    else:
        matches = list(MailAccount.objects.filter(email_address__iexact=value)[:2])
        if len(matches) > 1:
            raise CommandError(f"Several users have an account {value}: give its id instead.")
        account = matches[0] if matches else None
    if account is None:
        raise CommandError(f"No mail account {value!r}.")
    return account
