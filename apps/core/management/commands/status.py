"""`./manage.py status`: is everything running? Exits 1 when a required component is down."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.core.health import SystemStatus, system_status

_STATE_WORDS = {"ok": "ok", "stale": "STALE", "down": "DOWN", "unconfigured": "-"}


class Command(BaseCommand):
    help = "Report the database, Redis, worker/beat/push heartbeats, mail servers and versions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")

    def handle(self, *args: Any, **options: Any) -> None:
        status = system_status()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(render_table(status))
        if not status.healthy:
            sys.exit(1)


def render_table(status: SystemStatus) -> str:
    rows = [("component", "state", "details")]
    rows += [(check.label, _STATE_WORDS[check.state], check.summary) for check in status.checks]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 7}")
    lines.append("")
    name_width = max(len(name) for name in status.versions)
    lines += [f"{name:<{name_width}}  {value}" for name, value in status.versions.items()]
    lines.append("")
    if status.healthy:
        lines.append("All required components are running.")
    else:
        lines.append("Down: " + ", ".join(check.label for check in status.problems))
    return "\n".join(lines)
