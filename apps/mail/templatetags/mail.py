"""Small display helpers for mail templates."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time
from functools import lru_cache
from html import escape
from typing import TYPE_CHECKING, Any

from django import template
from django.templatetags.static import static
from django.utils import dateformat, formats, timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from apps.core.links import link
from apps.mail.models import Message

if TYPE_CHECKING:
    from apps.mail.selectors import ListRow

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
    return _date_labeller()(value) if value is not None else ""


def _date_labeller() -> Callable[[datetime], str]:
    """list_date for many rows: the zone, today, the language and the time format looked up once."""
    zone = timezone.get_current_timezone()
    today = datetime.now(zone).date()
    language = translation.get_language()
    time_format = formats.get_format("TIME_FORMAT")

    zoned = any(char in time_format for char in "eOTZIU")  # formats that need the datetime itself

    def label(value: datetime) -> str:
        local = value.astimezone(zone)
        if local.date() == today:
            if zoned:
                return dateformat.time_format(local, time_format)
            return _time_label(local.time().replace(microsecond=0), time_format, language)
        return _day_label(local.date(), local.year == today.year, language)

    return label


@lru_cache(maxsize=4096)
def _time_label(moment: time, time_format: str, language: str | None) -> str:
    # Today's rows: Django's time formatting is a fifth of the rows' cost; a day has few distinct times.
    return dateformat.time_format(moment, time_format)


@lru_cache(maxsize=1024)
def _day_label(day: date, this_year: bool, language: str | None) -> str:
    # A list shows many rows of the same days; `language` keys the cache (formats follow it).
    return formats.date_format(day, "MONTH_DAY_FORMAT" if this_year else "SHORT_DATE_FORMAT")


@register.simple_tag
def static_icon(name: str) -> str:
    return f"{static('img/icons.svg')}#{name}"


@register.filter
def filesize(value: int | None) -> str:
    from django.template.defaultfilters import filesizeformat

    return str(filesizeformat(value or 0))


# The message list's rows, built here rather than by a template loop: a page of 50 rows cost
# ~5 ms in template nodes, more than the queries behind it (bench/mail_sync.py). Same markup
# as a template would give: text from the message is escaped, numbers and constants are not.
# `escape` is the standard library's, which Django's wraps in a lazy-string check that costs more
# than the escaping (hundreds of calls a page); the markup it gives is the same.
@register.simple_tag
def message_rows(
    rows: Iterable[ListRow], *, opened: Any = None, base_url: str = "", query_string: str = "", threads: bool = False
) -> SafeString:
    """The `<li>` of each row of a message list (mail/_list.html)."""
    # Translated outside the f-strings, where makemessages can find them.
    unread_text = escape(_("Unread,"))
    thread_title, thread_text = escape(_("messages in this conversation")), escape(_("Conversation of"))
    attachments_text, flagged_text = escape(_("Has attachments")), escape(_("Flagged"))
    unread_note = f'<span class="visually-hidden">{unread_text} </span>'
    no_subject = escape(_("(no subject)"))
    thread_badge = (
        f'<span class="badge-count" title="{thread_title}"><span class="visually-hidden">{thread_text} </span>'
    )
    attachment_badge = (
        f'<svg class="icon small" role="img" aria-label="{attachments_text}">'
        f'<use href="{escape(static_icon("paperclip"))}"></use></svg>'
    )
    flag_badge = (
        f'<svg class="icon small flagged" role="img" aria-label="{flagged_text}">'
        f'<use href="{escape(static_icon("star"))}"></use></svg>'
    )
    link_base, link_query = escape(base_url), escape(f"?{query_string}") if query_string else ""
    opened_pk = getattr(opened, "pk", None)
    zone, date_label = timezone.get_current_timezone(), _date_labeller()
    parts = []
    for row in rows:
        m = row.message
        pk, current = int(m.pk), opened_pk is not None and opened_pk == m.pk
        when = m.sort_date.astimezone(zone) if m.sort_date else None
        classes = ("" if m.seen else " unread") + (" current" if current else "")
        aria = ' aria-current="true"' if current else ""
        sender = ("" if m.seen else unread_note) + escape(sender_label(m))
        iso, label = (when.isoformat(), escape(date_label(when))) if when else ("", "")
        subject = escape(m.subject) if m.subject else no_subject
        count = f"{thread_badge}{int(row.thread_count)}</span>" if threads and row.thread_count > 1 else ""
        parts.append(
            f'\n<li class="msg{classes}" data-message-id="{pk}" data-folder-id="{int(m.folder_id)}">\n'
            f'  <a class="msg-link" href="{link_base}m/{pk}/{link_query}" data-open-message="{pk}"{aria}>\n'
            f'    <span class="msg-from">{sender}</span>\n'
            f'    <time class="msg-date" datetime="{iso}">{label}</time>\n'
            f'    <span class="msg-subject">{subject}</span>\n'
            '    <span class="msg-badges">\n'
            f"      {count}\n"
            f"      {attachment_badge if m.has_attachments else ''}\n"
            f"      {flag_badge if m.flagged else ''}\n"
            "    </span>\n"
            "  </a>\n"
            "</li>\n"
        )
    return mark_safe("".join(parts))  # noqa: S308 - message text is escaped above


# The folder rail, built here for the same reason as the rows: one account of 40 folders cost
# ~5 ms in template nodes on every mailbox page. Same markup as mail/_folders.html had.
@register.simple_tag(takes_context=True)
def folder_rail(context: template.Context) -> SafeString:
    """The `<div data-folders>` of the mail pages' rail: each account with its folders and unread counts."""
    mailboxes = context.get("mailboxes") or []
    current = context.get("current_folder")
    current_pk = getattr(current, "pk", None)
    unread_text = escape(_("unread:"))
    parts = ['<div class="folders" data-folders>\n']
    for box in mailboxes:
        account = box.account
        name = escape(account.label or account.email_address)
        address = escape(account.email_address)
        parts.append(
            f'  <section class="folder-account" aria-label="{name}">\n    <h2 class="folder-account-name">{name}</h2>\n'
        )
        if account.sync_status == "error":
            parts.append(f'    <p class="folder-error" role="status">{escape(account.last_error)}</p>\n')
        if box.folders:
            parts.append('    <ul class="folder-list">\n')
            for entry in box.folders:
                pk, unread = int(entry.folder.pk), int(entry.folder.unread or 0)
                aria = ' aria-current="page"' if current_pk == pk else ""
                parts.append(
                    f'      <li class="depth-{int(entry.depth)}">\n'
                    f'        <a href="{escape(link("mail:folder", pk))}" data-folder-id="{pk}"{aria}>\n'
                    f'          <span class="folder-name">{escape(entry.label)}</span>\n'
                    f'          <span class="count" data-unread-for="{pk}"{"" if unread else " hidden"}>'
                    f'<span class="visually-hidden">{unread_text} </span>{unread}</span>\n'
                    "        </a>\n"
                    "      </li>\n"
                )
            parts.append("    </ul>\n")
        else:
            parts.append(f'    <p class="muted small">{escape(_("Fetching the folder list…"))}</p>\n')
        manage = escape(link("mail:folders_manage", account.pk))
        parts.append(
            f'    <p class="folder-manage-link small"><a href="{manage}">{escape(_("Manage folders"))}'
            f'<span class="visually-hidden"> ({address})</span></a></p>\n'
        )
        if account.sieve_port:
            filters = escape(link("mail:filters", account.pk))
            parts.append(
                f'    <p class="folder-filters-link small"><a href="{filters}">{escape(_("Filters and out-of-office"))}'
                f'<span class="visually-hidden"> ({address})</span></a></p>\n'
            )
        parts.append("  </section>\n")
    if mailboxes:
        snoozed = escape(link("mail:snoozed"))
        parts.append(
            f'  <p class="folder-snoozed-link small"><a href="{snoozed}">{escape(_("Snoozed messages"))}</a></p>\n'
        )
    parts.append("</div>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value from the database is escaped above


@register.simple_tag(takes_context=True)
def move_menu_items(context: template.Context) -> SafeString:
    """The toolbar's "Move to…" buttons (mail/_actions.html): every folder of the rail but the current one."""
    mailboxes = context.get("mailboxes") or []
    current_pk = getattr(context.get("current_folder"), "pk", None)
    parts = []
    for box in mailboxes:
        if len(mailboxes) > 1:
            account = box.account
            parts.append(f'<p class="menu-heading">{escape(account.label or account.email_address)}</p>\n')
        for entry in box.folders:
            pk = int(entry.folder.pk)
            if pk != current_pk:
                parts.append(
                    f'<button type="submit" class="menu-item depth-{int(entry.depth)}" name="move_to" value="{pk}">'
                    f"{escape(entry.label)}</button>\n"
                )
    return mark_safe("".join(parts))  # noqa: S308 - folder names and account labels are escaped above
