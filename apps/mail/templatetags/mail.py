"""Small display helpers for mail templates."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.templatetags.static import static
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.mail.models import Message

register = template.Library()


@register.filter
def sender_label(message: Message) -> str:
    """Who the row is about: the sender, or the recipients in Sent and Drafts."""
    if message.folder.role in ("sent", "drafts"):
        names = [name or address for name, address in (message.to or [])[:3]]
        return _("To: %(names)s") % {"names": ", ".join(names)} if names else _("(no recipient)")
    return message.from_name or message.from_address or _("(unknown sender)")


@register.filter
def list_date(value: datetime | None) -> str:
    """Today: the time; this year: day and month; older: the full date (in the user's zone)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    now = timezone.localtime()
    if local.date() == now.date():
        return formats.time_format(local, "TIME_FORMAT")
    if local.year == now.year:
        return formats.date_format(local, "MONTH_DAY_FORMAT")
    return formats.date_format(local, "SHORT_DATE_FORMAT")


@register.simple_tag
def static_icon(name: str) -> str:
    return f"{static('img/icons.svg')}#{name}"


@register.filter
def filesize(value: int | None) -> str:
    from django.template.defaultfilters import filesizeformat

    return str(filesizeformat(value or 0))
