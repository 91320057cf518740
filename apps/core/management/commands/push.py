"""`./manage.py push`: the long-running push process (see apps.core.push)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.core.push import PushSupervisor


class Command(BaseCommand):
    help = "Run the push process: follows users with an open tab and watches their mailboxes (IMAP IDLE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between two loops (default 2)")

    def handle(self, *args: Any, **options: Any) -> None:
        from apps.mail.push import ImapIdleWatchers

        supervisor = PushSupervisor(interval=options["interval"], watchers=ImapIdleWatchers())
        supervisor.install_signal_handlers()
        supervisor.run()
