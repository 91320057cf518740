"""`./manage.py mail_render FILE.eml [FILE.eml …]`: the rendering seam, one JSON object per line.

It calls the production renderer (`apps.mail.mime.parse_message`) with remote content blocked
and `cid:` images rewritten by `cid_url_for(RENDER_CID_BASE)`, so `html` is exactly what the
message frame would receive for a message whose inline images live under that base.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from apps.mail.addresses import Address
from apps.mail.mime import RenderedMessage, parse_message
from apps.mail.sanitize import RemotePolicy, cid_url_for

RENDER_CID_BASE = "cid/"


def _addresses(addresses: list[Address]) -> list[dict[str, str]]:
    return [{"name": a.name, "address": a.address} for a in addresses]


def render_record(file: str, rendered: RenderedMessage) -> dict[str, Any]:
    return {
        "file": file,
        "subject": rendered.subject,
        "from": _addresses(rendered.from_),
        "to": _addresses(rendered.to),
        "cc": _addresses(rendered.cc),
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size} for a in rendered.attachments
        ],
        "html": rendered.html,
        "text": rendered.text,
        "errors": rendered.errors,
    }


class Command(BaseCommand):
    help = "Renders .eml files with Ruche's message renderer and prints one JSON object per file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE.eml")

    def handle(self, *args: Any, **options: Any) -> None:
        read = 0
        cid_url = cid_url_for(RENDER_CID_BASE)
        for file in options["files"]:
            try:
                raw = Path(file).read_bytes()
            except OSError as error:
                record = render_record(file, RenderedMessage())
                record["errors"] = [_("The file could not be read: %(error)s") % {"error": error.strerror or error}]
            else:
                read += 1
                record = render_record(file, parse_message(raw, cid_url=cid_url, remote=RemotePolicy.BLOCK))
            self.stdout.write(json.dumps(record))
            self.stdout.flush()
        if not read:
            raise CommandError(_("No file could be read."))
