"""Writing mail: the composer, drafts, attachments, sending with undo, scheduled sends,
recipient suggestions, identities and sending preferences. Views only translate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.core.types import AuthedRequest
from apps.mail import drafts, identities, outbox, recipients, selectors
from apps.mail.access import (
    draft_for_user,
    identity_for_user,
    mail_account_for_user,
    message_for_user,
    outbox_for_user,
)
from apps.mail.compose import ComposeError, clean_html, encoded_size
from apps.mail.models import ComposePreferences, Draft, FolderRole, MailAccount, Outbox, OutboxState

PREFERENCE_FLAGS = [
    f.name for f in ComposePreferences._meta.get_fields() if f.name.startswith("nudge_") or f.name == "html_default"
]


def _wants_json(request: AuthedRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _account(request: AuthedRequest, account_id: str | None) -> MailAccount:
    if account_id:
        try:
            return mail_account_for_user(user=request.user, account_id=int(account_id))
        except ValueError:
            raise Http404 from None
    first = selectors.mail_accounts_for_user(user=request.user).first()
    if first is None:
        raise Http404(_("Add a mail account first."))
    return first


def _fields(request: AuthedRequest) -> drafts.DraftFields:
    post = request.POST
    identity = post.get("identity", "")
    return drafts.DraftFields(
        to=post.get("to", ""),
        cc=post.get("cc", ""),
        bcc=post.get("bcc", ""),
        subject=post.get("subject", ""),
        text=post.get("text", "").replace("\r\n", "\n"),
        html=post.get("html", ""),
        is_html=post.get("is_html") == "1",
        request_receipt=post.get("request_receipt") == "1",
        identity_id=int(identity) if identity.isdigit() else None,
    )


def _attachment_json(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "size": attachment.size,
        "encoded_size": encoded_size(attachment.size),
        "delete_url": reverse("mail:compose_attachment_delete", args=[attachment.pk]),
    }


def _draft_saved(request: AuthedRequest) -> tuple[Draft, str]:
    """Creates or updates the posted draft (and its server copy); returns it and a warning."""
    draft_id = request.POST.get("draft", "")
    fields = _fields(request)
    if draft_id.isdigit():
        draft = draft_for_user(user=request.user, draft_id=int(draft_id), write=True)
        drafts.draft_update(draft=draft, fields=fields)
    else:
        account = _account(request, request.POST.get("account"))
        source = None
        source_id = request.POST.get("source", "")
        if source_id.isdigit():
            source = message_for_user(user=request.user, message_id=int(source_id))
            if source.account_id != account.pk:
                raise Http404
        context = drafts.DraftContext(
            kind=request.POST.get("kind", ""),
            source=source,
            message_id=request.POST.get("message_id", ""),
            in_reply_to=request.POST.get("in_reply_to", ""),
            references=request.POST.get("references", ""),
        )
        draft = drafts.draft_create(owner=request.user, account=account, fields=fields, context=context)
    warning = drafts.draft_store_on_server(draft=draft) if request.POST.get("server", "1") == "1" else ""
    return draft, warning


def _compose_context(
    request: AuthedRequest, *, draft: Draft | None, account: MailAccount, **extra: Any
) -> dict[str, Any]:
    preferences = outbox.compose_preferences_for(user=request.user)
    fields = extra.get("fields")
    if isinstance(fields, drafts.DraftFields) and fields.html:
        fields.html = clean_html(fields.html)  # the editor never holds active content
    return {
        "draft": draft,
        "account": account,
        "accounts": selectors.mail_accounts_for_user(user=request.user),
        "identities": identities.identities_for_account(account=account),
        "attachments": [_attachment_json(a) for a in draft.attachments.all()] if draft else [],
        "preferences": preferences,
        "warn_bytes": settings.RUCHE_MAIL_ATTACHMENT_WARN_MB * 1_000_000,
        "max_bytes": outbox.account_size_limit(account=account),
        "undo_seconds": preferences.undo_seconds,
        **extra,
    }


@never_cache
@login_required
@require_GET
def compose_new(request: AuthedRequest) -> HttpResponse:
    """A new message, a reply (reply, reply_all) or a forward (forward, forward_attachment)."""
    source = None
    source_id = request.GET.get("source", "")
    if source_id.isdigit():
        source = message_for_user(user=request.user, message_id=int(source_id))
        account = source.account
    else:
        account = _account(request, request.GET.get("account"))
    kind = request.GET.get("kind", "")
    try:
        fields, context = drafts.draft_prefill(
            account=account, kind=kind, source=source, selection=request.GET.get("quote", "")[:100_000]
        )
    except drafts.DraftError as exc:
        raise Http404(str(exc)) from None
    if not source:
        fields.to = request.GET.get("to", "")[:2000]
    if outbox.compose_preferences_for(user=request.user).html_default and not kind:
        fields.is_html = True
    return render(
        request,
        "mail/compose.html",
        _compose_context(request, draft=None, account=account, fields=fields, context=context, source=source),
    )


@never_cache
@login_required
@require_GET
def compose_draft(request: AuthedRequest, draft_id: int) -> HttpResponse:
    draft = draft_for_user(user=request.user, draft_id=draft_id)
    fields = drafts.DraftFields(
        to=draft.to,
        cc=draft.cc,
        bcc=draft.bcc,
        subject=draft.subject,
        text=draft.text,
        html=draft.html,
        is_html=draft.is_html,
        request_receipt=draft.request_receipt,
        identity_id=draft.identity_id,
    )
    failed = draft.outbox.filter(state=OutboxState.FAILED).order_by("-pk").first()
    return render(
        request,
        "mail/compose.html",
        _compose_context(
            request,
            draft=draft,
            account=draft.account,
            fields=fields,
            context=drafts.DraftContext(kind=draft.kind, message_id=draft.message_id),
            source=draft.source,
            failed=failed,
        ),
    )


@login_required
def draft_open(request: AuthedRequest, message_id: int) -> HttpResponse:
    """A message of the Drafts folder opened in the composer (written here or on another device)."""
    message = message_for_user(user=request.user, message_id=message_id)
    if message.folder.role != FolderRole.DRAFTS and not message.draft:
        raise Http404
    try:
        draft = drafts.draft_from_message(owner=request.user, message=message)
    except drafts.DraftError as exc:
        raise Http404(str(exc)) from None
    return redirect("mail:compose_draft", draft_id=draft.pk)


@login_required
@require_POST
def compose_save(request: AuthedRequest) -> HttpResponse:
    """Autosave (and the "Save draft" button): the row, then the server's Drafts copy."""
    draft, warning = _draft_saved(request)
    if not _wants_json(request):
        return redirect("mail:compose_draft", draft_id=draft.pk)
    return JsonResponse(
        {
            "draft": draft.pk,
            "url": reverse("mail:compose_draft", args=[draft.pk]),
            "attach_url": reverse("mail:compose_attach", args=[draft.pk]),
            "discard_url": reverse("mail:compose_discard", args=[draft.pk]),
            "saved_at": timezone.localtime().strftime("%H:%M"),
            "warning": warning,
            "attachments": [_attachment_json(a) for a in draft.attachments.all()],
        }
    )


def _send_at(request: AuthedRequest) -> datetime | None:
    value = request.POST.get("send_at", "").strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise outbox.SendError(_("Choose a date and a time.")) from None
    if naive.tzinfo is not None:
        raise outbox.SendError(_("Choose a date and a time."))
    return timezone.make_aware(naive, timezone.get_current_timezone())


@login_required
@require_POST
def compose_send(request: AuthedRequest) -> HttpResponse:
    """Saves the draft and queues it (undo delay or a chosen time). Etiquette questions come
    back as 409 until dismissed; a refusal keeps the draft and says why."""
    draft, _warning = _draft_saved(request)
    dismissed = {key for key in request.POST.get("dismissed", "").split(",") if key}
    try:
        held = outbox.message_send(draft=draft, send_at=_send_at(request), dismissed=dismissed)
    except outbox.NudgesPending as exc:
        payload = {"draft": draft.pk, "nudges": [{"key": n.key, "text": n.text} for n in exc.nudges]}
        if _wants_json(request):
            return JsonResponse(payload, status=409)
        return _compose_again(request, draft, nudges=exc.nudges)
    except (ComposeError, outbox.SendError) as exc:
        if _wants_json(request):
            return JsonResponse({"draft": draft.pk, "error": str(exc)}, status=400)
        return _compose_again(request, draft, error=str(exc))
    if _wants_json(request):
        return JsonResponse(_outbox_json(held))
    return redirect("mail:scheduled_send" if held.scheduled else "mail:home")


def _compose_again(request: AuthedRequest, draft: Draft, **extra: Any) -> HttpResponse:
    """The composer again, with the etiquette questions (409) or the refusal (400)."""
    return render(
        request,
        "mail/compose.html",
        _compose_context(
            request,
            draft=draft,
            account=draft.account,
            fields=_fields(request),
            context=drafts.DraftContext(kind=draft.kind, message_id=draft.message_id),
            source=draft.source,
            **extra,
        ),
        status=409 if extra.get("nudges") else 400,
    )


def _outbox_json(held: Outbox) -> dict[str, Any]:
    return {
        "outbox": held.pk,
        "state": held.state,
        "scheduled": held.scheduled,
        "send_at": held.send_at.isoformat(),
        "seconds": max(0, round((held.send_at - timezone.now()).total_seconds())),
        "undo_url": reverse("mail:outbox_undo", args=[held.pk]),
        "status_url": reverse("mail:outbox_status", args=[held.pk]),
        "error": held.error,
        "compose_url": reverse("mail:compose_draft", args=[held.draft_id]) if held.draft_id else "",
    }


@login_required
@require_POST
def compose_attach(request: AuthedRequest, draft_id: int) -> HttpResponse:
    """One uploaded file (XMLHttpRequest with progress, or a plain form)."""
    draft = draft_for_user(user=request.user, draft_id=draft_id, write=True)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": _("Choose a file.")}, status=400)
    limit = outbox.account_size_limit(account=draft.account)
    current = sum(encoded_size(a.size) for a in draft.attachments.only("size"))
    if current + encoded_size(upload.size or 0) > limit:
        return JsonResponse(
            {
                "error": _("This file would make the message larger than the %(limit).1f MB this account can send.")
                % {"limit": limit / 1_000_000}
            },
            status=413,
        )
    attachment = drafts.draft_attach(
        draft=draft, filename=upload.name or "", content_type=upload.content_type or "", data=upload.read()
    )
    return JsonResponse(_attachment_json(attachment))


@login_required
@require_POST
def compose_attachment_delete(request: AuthedRequest, attachment_id: int) -> HttpResponse:
    from apps.mail.models import DraftAttachment

    attachment = DraftAttachment.objects.filter(pk=attachment_id, draft__owner_id=request.user.pk).first()
    if attachment is None:
        raise Http404
    attachment.delete()
    return JsonResponse({"deleted": attachment_id})


@login_required
@require_POST
def compose_discard(request: AuthedRequest, draft_id: int) -> HttpResponse:
    draft = draft_for_user(user=request.user, draft_id=draft_id, write=True)
    drafts.draft_discard(draft=draft)
    return JsonResponse({"discarded": draft_id}) if _wants_json(request) else redirect("mail:home")


@login_required
@require_POST
def outbox_undo(request: AuthedRequest, outbox_id: int) -> HttpResponse:
    """Undo (or cancel a scheduled send): the message goes back to the composer."""
    held = outbox_for_user(user=request.user, outbox_id=outbox_id, write=True)
    try:
        draft = outbox.outbox_cancel(outbox=held)
    except outbox.SendError as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc)}, status=409)
        return HttpResponseBadRequest(str(exc))
    url = reverse("mail:compose_draft", args=[draft.pk]) if draft else reverse("mail:home")
    if request.POST.get("next") == "scheduled":
        return redirect("mail:scheduled_send")
    return JsonResponse({"compose_url": url}) if _wants_json(request) else redirect(url)


@never_cache
@login_required
@require_GET
def outbox_status(request: AuthedRequest, outbox_id: int) -> HttpResponse:
    held = outbox_for_user(user=request.user, outbox_id=outbox_id)
    return JsonResponse(_outbox_json(held))


@never_cache
@login_required
def scheduled_send(request: AuthedRequest) -> HttpResponse:
    held = Outbox.objects.filter(
        owner_id=request.user.pk, state__in=[OutboxState.QUEUED, OutboxState.FAILED]
    ).select_related("account")
    return render(
        request,
        "mail/compose_scheduled.html",
        {"held": held, "mailboxes": selectors.mailboxes_for_user(user=request.user)},
    )


@never_cache
@login_required
@require_GET
def recipients_suggest(request: AuthedRequest) -> HttpResponse:
    found = recipients.recipients_suggest(user=request.user, query=request.GET.get("q", ""))
    return JsonResponse(
        {"results": [{"name": s.name, "address": s.address, "label": s.label, "source": s.source} for s in found]}
    )


@never_cache
@login_required
def identities_manage(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=request.method == "POST")
    error = ""
    if request.method == "POST":
        identity_id = request.POST.get("identity", "")
        identity = None
        if identity_id.isdigit():
            identity = identity_for_user(user=request.user, identity_id=int(identity_id), write=True)
            if identity.account_id != account.pk:
                raise Http404
        try:
            if request.POST.get("delete") == "1" and identity is not None:
                identities.identity_delete(identity=identity)
            else:
                identities.identity_save(
                    account=account,
                    identity=identity,
                    name=request.POST.get("name", ""),
                    email_address=request.POST.get("email_address", ""),
                    reply_to=request.POST.get("reply_to", ""),
                    signature=request.POST.get("signature", ""),
                    is_default=request.POST.get("is_default") == "1",
                )
            return redirect("mail:identities", account_id=account.pk)
        except ComposeError as exc:
            error = str(exc)
    return render(
        request,
        "mail/compose_identities.html",
        {"account": account, "identities": identities.identities_for_account(account=account), "error": error},
        status=400 if error else 200,
    )


@never_cache
@login_required
def compose_preferences(request: AuthedRequest) -> HttpResponse:
    preferences = outbox.compose_preferences_for(user=request.user)
    error = ""
    if request.method == "POST":
        values: dict[str, object] = {name: request.POST.get(name) == "1" for name in PREFERENCE_FLAGS}
        seconds = request.POST.get("undo_seconds", "")
        if seconds.isdigit():
            values["undo_seconds"] = int(seconds)
        try:
            outbox.compose_preferences_update(user=request.user, **values)
            return redirect("mail:compose_preferences")
        except ValidationError:
            error = _("The undo delay is at most 120 seconds.")
    fields = [
        (name, getattr(ComposePreferences._meta.get_field(name), "verbose_name", name), getattr(preferences, name))
        for name in PREFERENCE_FLAGS
    ]
    return render(
        request,
        "mail/compose_preferences.html",
        {"preferences": preferences, "fields": fields, "error": error},
        status=400 if error else 200,
    )
