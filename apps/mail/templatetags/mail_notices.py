"""The reader's notices: unsubscribe, read-receipt request, "create a filter" (mail/_reader_notices.html)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.mail.models import Message
from apps.mail.receipts import receipt_requested
from apps.mail.unsubscribe import unsubscribe_methods

register = template.Library()


@register.simple_tag
def reader_notices(message: Message | None, raw: bytes | None = None) -> dict[str, Any]:
    if message is None:
        return {}
    return {
        "unsubscribe": unsubscribe_methods(message),
        "receipt_to": receipt_requested(message=message, raw=raw),
        "filters": bool(message.account.sieve_port),
    }
