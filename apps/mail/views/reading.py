"""Reading one message: the pane, the sandboxed body frame, parts, source, remote content."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from apps.core.types import AuthedRequest
from apps.mail import bodies, selectors, services
from apps.mail.access import message_for_user
from apps.mail.models import Message

# No `sandbox` directive in this policy: the iframe's sandbox attribute keeps scripts, forms and
# top navigation off and leaves the frame same-origin (without script), so the page sizes it.
from apps.mail.sanitize import FRAME_CSP

# Parts shown in the browser rather than downloaded: pictures and plain text only (never HTML
# or SVG, which could run script in our origin).
PREVIEW_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "text/plain", "application/pdf"}


def _raw_or_404(message: Message) -> bytes:
    """The message's bytes; a message the server no longer has is a 404 with the reason."""
    try:
        return bodies.message_raw(message=message)
    except bodies.MessageUnavailableError as exc:
        raise Http404(str(exc)) from None


def _part_or_404(message: Message, part_id: str) -> bodies.Part:
    try:
        return bodies.message_part(message=message, part_id=part_id)
    except bodies.MessageUnavailableError as exc:
        raise Http404(str(exc)) from None


def reader_context(request: AuthedRequest, message: Message) -> dict[str, Any]:
    """What the reading pane shows; also used by the mailbox page when a message is open."""
    preferences = selectors.mail_preferences_for_user(user=request.user)
    try:
        raw = bodies.message_raw(message=message)
    except bodies.MessageUnavailableError as exc:
        return {"opened": message, "unavailable": str(exc)}
    allow_remote = request.GET.get("remote") == "1" or bodies.sender_trusted(preferences=preferences, message=message)
    view = bodies.message_view(message=message, raw=raw, allow_remote=allow_remote)
    if preferences.mark_read_on_open and not message.seen:
        services.message_set_seen(message=message, seen=True)
    return {
        "opened": message,
        "opened_raw": raw,  # the reader's notices read their headers from it, not from a second fetch
        "view": view,
        "thread": selectors.thread_messages(message=message) if _in_conversation(message) else [],
        "frame_url": reverse("mail:message_frame", args=[message.pk]) + ("?remote=1" if allow_remote else ""),
        "remote_allowed": allow_remote,
    }


def _in_conversation(message: Message) -> bool:
    """Whether the pane lists a conversation: a thread of several messages (the list of one is not shown)."""
    return message.thread is not None and message.thread.message_count > 1


@never_cache
@login_required
def message_pane(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = message_for_user(user=request.user, message_id=message_id)
    return render(request, "mail/_reader.html", reader_context(request, message))


@never_cache
@login_required
def message_open(request: AuthedRequest, message_id: int) -> HttpResponse:
    """A message's own address: the mailbox of its folder with it open."""
    message = message_for_user(user=request.user, message_id=message_id)
    return redirect("mail:folder_message", folder_id=message.folder_id, message_id=message.pk)


@never_cache
@xframe_options_sameorigin
@login_required
def message_frame(request: AuthedRequest, message_id: int) -> HttpResponse:
    """The sanitised HTML body, alone, for the sandboxed iframe, under its own strict policy."""
    message = message_for_user(user=request.user, message_id=message_id)
    raw = _raw_or_404(message)
    allow_remote = request.GET.get("remote") == "1"
    return _frame_response(bodies.message_view(message=message, raw=raw, allow_remote=allow_remote))


def _frame_response(view: bodies.MessageView) -> HttpResponse:
    """The frame document under its own policy: no script, no form, images only from us."""
    response = HttpResponse(bodies.frame_document(view.html), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = FRAME_CSP
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@login_required
def message_part(request: AuthedRequest, message_id: int, part_id: str, *, inline: bool = False) -> HttpResponse:
    """An attachment or inline part. Downloaded unless it is a type safe to show."""
    message = message_for_user(user=request.user, message_id=message_id)
    part = _part_or_404(message, part_id)
    inline = (inline or request.GET.get("inline") == "1") and part.content_type in PREVIEW_TYPES
    response = HttpResponse(part.data, content_type=part.content_type if inline else "application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(not inline, part.filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    # Even a "safe" preview runs under a sandbox policy: nothing it holds can script our origin.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response


@never_cache
@login_required
def message_cid(request: AuthedRequest, message_id: int) -> HttpResponse:
    """An inline image referenced as `cid:` from the message's HTML."""
    return message_part(request, message_id, "cid:" + request.GET.get("id", "")[:500], inline=True)


@never_cache
@login_required
def attached_message(request: AuthedRequest, message_id: int, part_id: str) -> HttpResponse:
    """A message/rfc822 attachment, read like a message."""
    message = message_for_user(user=request.user, message_id=message_id)
    part = _part_or_404(message, part_id)
    if part.content_type != "message/rfc822":
        return HttpResponseBadRequest("This part is not a message.")
    view = bodies.message_view(message=message, raw=part.data, allow_remote=False, part_prefix=part_id)
    return render(request, "mail/attached.html", {"opened": message, "view": view, "part_id": part_id})


@never_cache
@xframe_options_sameorigin
@login_required
def attached_message_frame(request: AuthedRequest, message_id: int, part_id: str) -> HttpResponse:
    message = message_for_user(user=request.user, message_id=message_id)
    part = _part_or_404(message, part_id)
    return _frame_response(bodies.message_view(message=message, raw=part.data, allow_remote=False, part_prefix=part_id))


@never_cache
@login_required
def message_source(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = message_for_user(user=request.user, message_id=message_id)
    raw = _raw_or_404(message)
    response = HttpResponse(raw, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


@require_POST
@login_required
def trust_sender(request: AuthedRequest, message_id: int) -> HttpResponse:
    """ "Always show remote content from this sender"."""
    message = message_for_user(user=request.user, message_id=message_id)
    services.mail_preferences_trust_sender(user=request.user, address=message.from_address)
    return redirect("mail:folder_message", folder_id=message.folder_id, message_id=message.pk)


@never_cache
@login_required
def remote_image(request: AuthedRequest, token: str) -> HttpResponse:
    """Remote pictures of a message the user chose to show, fetched by Ruche, never by the browser."""
    try:
        content_type, data = bodies.proxy_fetch(token)
    except bodies.RemoteRefusedError as exc:
        return HttpResponse(str(exc), status=502, content_type="text/plain; charset=utf-8")
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, max-age=86400"
    return response
