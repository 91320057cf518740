"""Message bodies for reading: fetched on demand (BODY.PEEK, never setting \\Seen), cached with a
size cap, rendered by the production renderer (apps.mail.mime) for the reading pane and frame.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from redis.exceptions import RedisError

from apps.mail.addresses import Address
from apps.mail.connections import imap_call
from apps.mail.imap import ImapError
from apps.mail.models import MailPreferences, Message, MessageBody


class MessageUnavailableError(Exception):
    """The message cannot be read now (gone from the server, server unreachable). Safe to show."""


class RemoteRefusedError(Exception):
    """The remote-content proxy refused a URL. Safe to show."""


@dataclass(frozen=True)
class AttachmentView:
    part_id: str
    filename: str
    content_type: str
    size: int
    is_message: bool
    previewable: bool


@dataclass(frozen=True)
class MessageView:
    """What the reading pane needs, independent of how the renderer names things."""

    subject: str
    from_: list[Address]
    to: list[Address]
    cc: list[Address]
    reply_to: list[Address]
    date: datetime | None
    html: str  # sanitised, for the sandboxed frame; "" when the message has no HTML
    text_html: SafeString  # the plain-text body as safe HTML (quotes marked, links clickable)
    attachments: list[AttachmentView]
    headers: list[tuple[str, str]]
    errors: list[str]
    has_remote_content: bool
    sender_address: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    content_type: str
    filename: str
    data: bytes


def message_raw(*, message: Message) -> bytes:
    """The message's RFC 822 bytes, from the cache or from the server."""
    cached = MessageBody.objects.filter(message_id=message.pk).values_list("raw", flat=True).first()
    if cached is not None:
        return bytes(cached)
    folder_name = message.folder.name
    try:
        raw = imap_call(message.account, lambda imap: imap.fetch_raw(folder_name, message.uid))
    except ImapError as exc:
        raise MessageUnavailableError(str(exc)) from None
    if raw is None:
        raise MessageUnavailableError("This message is no longer on the server (moved or deleted by another client).")
    if len(raw) <= settings.RUCHE_MAIL_BODY_CACHE_MAX:
        MessageBody.objects.update_or_create(message_id=message.pk, defaults={"raw": raw})
    return bytes(raw)


def _cid_url(message: Message, part_prefix: str) -> Any:
    from apps.mail.sanitize import cid_url_for

    # A query parameter, not a path segment: Content-IDs may hold "/" and other URL characters.
    return cid_url_for(reverse("mail:message_cid", args=[message.pk]) + "?id=")


# The reading pane and its body frame render the same HTML message one right after the other;
# the frame takes the pane's rendering from the cache instead of parsing and sanitising it again
# (~5 ms for a newsletter). Keyed by the message and a digest of its bytes, kept a minute.
VIEW_CACHE_SECONDS = 60
VIEW_CACHE_MAX = 512 * 1024  # characters of body; larger renderings are not kept
_HAS_HTML = re.compile(rb"text/html", re.IGNORECASE)


def message_view(*, message: Message, raw: bytes, allow_remote: bool, part_prefix: str = "") -> MessageView:
    """Renders `raw` with the production renderer (the same code path as `manage.py mail_render`)."""
    if not _HAS_HTML.search(raw):  # plain text renders in under a millisecond: no cache round trip
        return _render_view(message=message, raw=raw, allow_remote=allow_remote, part_prefix=part_prefix)
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    cache_key = f"mail:view:{message.pk}:{int(allow_remote)}:{part_prefix}:{digest}"
    try:
        cached = cache.get(cache_key)
    except RedisError:
        cached = None
    if isinstance(cached, MessageView):
        return cached
    view = _render_view(message=message, raw=raw, allow_remote=allow_remote, part_prefix=part_prefix)
    if len(view.html) + len(view.text_html) <= VIEW_CACHE_MAX:
        with suppress(RedisError):  # Redis down: the frame renders it again
            cache.set(cache_key, view, VIEW_CACHE_SECONDS)
    return view


def _render_view(*, message: Message, raw: bytes, allow_remote: bool, part_prefix: str) -> MessageView:
    from apps.mail import mime
    from apps.mail.proxy import signed_proxy_url
    from apps.mail.sanitize import RemotePolicy

    rendered = mime.parse_message(
        raw,
        cid_url=_cid_url(message, part_prefix),
        remote=RemotePolicy.PROXY if allow_remote else RemotePolicy.BLOCK,
        proxy_url=signed_proxy_url,
    )
    return MessageView(
        subject=rendered.subject,
        from_=list(rendered.from_),
        to=list(rendered.to),
        cc=list(rendered.cc),
        reply_to=list(rendered.reply_to),
        date=rendered.date,
        html=rendered.html if rendered.body_is_html else "",
        # Plain-text bodies: our own escaped rendering (quotes marked, links made), shown in the page.
        text_html=mark_safe(rendered.html if not rendered.body_is_html else ""),  # noqa: S308
        attachments=[
            AttachmentView(
                part_id=a.part_id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                is_message=a.is_message,
                previewable=a.content_type in _PREVIEWABLE,
            )
            for a in rendered.attachments
            if not a.inline
        ],
        headers=list(rendered.headers),
        errors=list(rendered.errors),
        has_remote_content=rendered.has_remote_content,
        sender_address=rendered.from_[0].address if rendered.from_ else "",
    )


_PREVIEWABLE = {"image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "application/pdf"}


def message_part(*, message: Message, part_id: str) -> Part:
    from apps.mail import mime

    raw = message_raw(message=message)
    try:
        content_type, filename, data = mime.part_bytes(raw, part_id)
    except LookupError:
        raise MessageUnavailableError("This part is not in the message.") from None
    return Part(content_type=content_type, filename=filename, data=data)


def frame_document(html: str) -> str:
    """The complete document the sandboxed frame receives: the body and a minimal reset."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><style>'
        "body{margin:0;padding:8px;font:15px/1.5 system-ui,sans-serif;color:#1c1917;background:#fff;"
        "overflow-wrap:anywhere}img{max-width:100%;height:auto}table{max-width:100%}"
        f"pre{{white-space:pre-wrap}}</style></head><body>{html}</body></html>"
    )


def sender_trusted(*, preferences: MailPreferences, message: Message) -> bool:
    return bool(message.from_address) and message.from_address.lower() in preferences.remote_content_senders


def proxy_fetch(token: str) -> tuple[str, bytes]:
    from apps.mail import proxy

    try:
        image = proxy.fetch_remote_image(token)
    except proxy.RemoteContentRefused as exc:
        raise RemoteRefusedError(exc.reason) from None
    return image.content_type, image.data
