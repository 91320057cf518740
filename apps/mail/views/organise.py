"""Organising mail: actions on messages, snooze, and the folder tree (services in apps.mail.organise/snooze).

Each POST answers JSON to the page's script (`Accept: application/json`) and redirects back to
`next` for a plain form, with the outcome as a flash message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from apps.core.types import AuthedRequest
from apps.mail import organise, selectors, snooze
from apps.mail.access import folder_for_user, mail_account_for_user, message_for_user
from apps.mail.imap import ImapError
from apps.mail.models import Folder, Message, Snooze, SnoozeState

ACTIONS = (
    "read",
    "unread",
    "flag",
    "unflag",
    "toggleflag",
    "move",
    "archive",
    "trash",
    "delete",
    "junk",
    "notjunk",
    "snooze",
)


def _wants_json(request: AuthedRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request: AuthedRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return default
    return target


def _answer(request: AuthedRequest, *, text: str, error: bool = False, back: str = "", **extra: Any) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"ok": not error, "message": text, **extra}, status=409 if error else 200)
    (flash.error if error else flash.success)(request, text)
    return redirect(_back(request, back or reverse("mail:home")))


def _summary(result: organise.ActionResult) -> str:
    text = ngettext("%(count)d message done.", "%(count)d messages done.", result.done) % {"count": result.done}
    if result.missing:
        text += " " + ngettext(
            "%(count)d message was no longer there: another mail program moved or deleted it.",
            "%(count)d messages were no longer there: another mail program moved or deleted them.",
            result.missing,
        ) % {"count": result.missing}
    return text


@require_POST
@login_required
def messages_action(request: AuthedRequest) -> HttpResponse:
    """One action on one message or a selection: `ids` (repeated), `action`, and `folder` / `when`."""
    # A plain form names the action with the button pressed: a folder of the "Move to" menu,
    # a time of the "Snooze until" menu, or an action button.
    action = request.POST.get("action", "")
    if not action and request.POST.get("move_to"):
        action = "move"
    if not action and request.POST.get("when"):
        action = "snooze"
    if action not in ACTIONS:
        return _answer(request, text=_("Choose an action."), error=True)
    ids = request.POST.getlist("ids")
    if not ids:
        return _answer(request, text=_("Select at least one message."), error=True)
    if len(ids) > organise.MAX_SELECTION:
        return _answer(request, text=_("Too many messages selected."), error=True)
    if not all(pk.isdigit() for pk in ids):
        raise Http404
    chosen = [message_for_user(user=request.user, message_id=int(pk), write=True) for pk in dict.fromkeys(ids)]
    if action == "toggleflag":
        action = "unflag" if all(m.flagged for m in chosen) else "flag"
    try:
        if action == "snooze":
            return _snooze(request, chosen)
        result = _apply(request, action, chosen)
    except organise.OrganiseError as exc:
        return _answer(request, text=str(exc), error=True)
    return _answer(request, text=_summary(result), done=result.done, missing=result.missing)


_SIMPLE: dict[str, Callable[[list[Message]], organise.ActionResult]] = {
    "read": lambda chosen: organise.messages_set_flag(messages=chosen, flag="seen", value=True),
    "unread": lambda chosen: organise.messages_set_flag(messages=chosen, flag="seen", value=False),
    "flag": lambda chosen: organise.messages_set_flag(messages=chosen, flag="flagged", value=True),
    "unflag": lambda chosen: organise.messages_set_flag(messages=chosen, flag="flagged", value=False),
    "archive": lambda chosen: organise.messages_archive(messages=chosen),
    "trash": lambda chosen: organise.messages_trash(messages=chosen),
    "junk": lambda chosen: organise.messages_junk(messages=chosen),
    "notjunk": lambda chosen: organise.messages_not_junk(messages=chosen),
}


def _apply(request: AuthedRequest, action: str, chosen: list[Message]) -> organise.ActionResult:
    if action in _SIMPLE:
        return _SIMPLE[action](chosen)
    if action == "move":
        destination = folder_for_user(user=request.user, folder_id=_int(request.POST.get("move_to")), write=True)
        return organise.messages_move(messages=chosen, destination=destination)
    # "delete": for ever, only when confirmed
    if request.POST.get("confirm") != "1":
        raise organise.OrganiseError(_("Deleting for ever needs a confirmation."))
    return organise.messages_delete_forever(messages=chosen)


def _snooze(request: AuthedRequest, chosen: list[Message]) -> HttpResponse:
    wake_at = snooze.snooze_time(choice=request.POST.get("when", ""), custom=request.POST.get("at", ""))
    flag = request.POST.get("flag") == "1"
    for message in chosen:
        snooze.message_snooze(message=message, wake_at=wake_at, flag_on_wake=flag)
    text = ngettext(
        "%(count)d message snoozed until %(when)s.", "%(count)d messages snoozed until %(when)s.", len(chosen)
    ) % {"count": len(chosen), "when": _when(wake_at)}
    return _answer(request, text=text, done=len(chosen), missing=0)


def _when(value: Any) -> str:
    from django.utils import formats, timezone

    return str(formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"))


@require_POST
@login_required
def folder_empty(request: AuthedRequest, folder_id: int) -> HttpResponse:
    folder = folder_for_user(user=request.user, folder_id=folder_id, write=True)
    if request.POST.get("confirm") != "1":
        return _answer(request, text=_("Emptying needs a confirmation."), error=True)
    try:
        result = organise.folder_empty(folder=folder)
    except organise.OrganiseError as exc:
        return _answer(request, text=str(exc), error=True)
    return _answer(request, text=_summary(result), done=result.done, missing=0)


# ---------------------------------------------------------------- snoozed
@require_GET
@login_required
def snoozed_list(request: AuthedRequest) -> HttpResponse:
    accounts = list(selectors.mail_accounts_for_user(user=request.user))
    snoozes = Snooze.objects.filter(account__in=accounts, state=SnoozeState.SNOOZED).order_by("wake_at")
    return render(
        request,
        "mail/snoozed.html",
        {"snoozes": snoozes, "mailboxes": selectors.mailboxes_for_user(user=request.user), "current_folder": None},
    )


@require_POST
@login_required
def snooze_wake_now(request: AuthedRequest, snooze_id: int) -> HttpResponse:
    found = get_object_or_404(Snooze, pk=snooze_id)
    mail_account_for_user(user=request.user, account_id=found.account_id, write=True)  # someone else's: 404
    try:
        snooze.snooze_wake(snooze_id=found.pk)
    except ImapError as exc:
        return _answer(request, text=_("The mail server refused: %(reason)s") % {"reason": exc}, error=True)
    return _answer(request, text=_("The message is back in the Inbox."))


# ---------------------------------------------------------------- folders
@require_GET
@login_required
def folders_manage(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    folders = sorted(Folder.objects.filter(account=account), key=lambda f: (f.role != "inbox", f.name.casefold()))
    entries = []
    for folder in folders:
        parts = selectors.folder_parts(folder)
        entries.append({"folder": folder, "label": parts[-1], "depth": len(parts) - 1})
    return render(
        request,
        "mail/folders_manage.html",
        {
            "account": account,
            "entries": entries,
            "settings": organise.organise_settings_for(account=account),
            "mailboxes": selectors.mailboxes_for_user(user=request.user),
            "current_folder": None,
        },
    )


@require_GET
@login_required
def folders_rail(request: AuthedRequest) -> HttpResponse:
    """The folder list alone, for pages redrawing it after a mail.folders tree event."""
    return render(request, "mail/_folders.html", {"mailboxes": selectors.mailboxes_for_user(user=request.user)})


def _manage(account_id: int) -> str:
    return reverse("mail:folders_manage", args=[account_id])


def _int(value: str | None) -> int:
    if not value or not value.isdigit():
        raise Http404
    return int(value)


@require_POST
@login_required
def folder_create(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    parent_id = request.POST.get("parent", "")
    parent = folder_for_user(user=request.user, folder_id=_int(parent_id), write=True) if parent_id else None
    try:
        folder = organise.folder_create(account=account, name=request.POST.get("name", ""), parent=parent)
    except organise.OrganiseError as exc:
        return _answer(request, back=_manage(account.pk), text=str(exc), error=True)
    return _answer(
        request,
        back=_manage(account.pk),
        text=_("Folder %(name)s created.") % {"name": folder.name},
        folder_id=folder.pk,
    )


@require_POST
@login_required
def folder_rename(request: AuthedRequest, folder_id: int) -> HttpResponse:
    folder = folder_for_user(user=request.user, folder_id=folder_id, write=True)
    try:
        renamed = organise.folder_rename(folder=folder, name=request.POST.get("name", ""))
    except organise.OrganiseError as exc:
        return _answer(request, back=_manage(folder.account_id), text=str(exc), error=True)
    return _answer(
        request, back=_manage(folder.account_id), text=_("Folder renamed to %(name)s.") % {"name": renamed.name}
    )


@require_POST
@login_required
def folder_delete(request: AuthedRequest, folder_id: int) -> HttpResponse:
    folder = folder_for_user(user=request.user, folder_id=folder_id, write=True)
    if request.POST.get("confirm") != "1":
        return _answer(
            request, back=_manage(folder.account_id), text=_("Deleting a folder needs a confirmation."), error=True
        )
    try:
        organise.folder_delete(folder=folder)
    except organise.OrganiseError as exc:
        return _answer(request, back=_manage(folder.account_id), text=str(exc), error=True)
    return _answer(
        request,
        back=_manage(folder.account_id),
        text=_("Folder %(name)s deleted with its messages.") % {"name": folder.name},
    )


@require_POST
@login_required
def folder_subscribe(request: AuthedRequest, folder_id: int) -> HttpResponse:
    folder = folder_for_user(user=request.user, folder_id=folder_id, write=True)
    subscribed = request.POST.get("subscribed") == "1"
    try:
        organise.folder_set_subscribed(folder=folder, subscribed=subscribed)
    except organise.OrganiseError as exc:
        return _answer(request, back=_manage(folder.account_id), text=str(exc), error=True)
    text = _("%(name)s is shown in the folder list.") if subscribed else _("%(name)s is hidden from the folder list.")
    return _answer(request, back=_manage(folder.account_id), text=text % {"name": folder.name})


@require_POST
@login_required
def organise_settings(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    organise.organise_settings_update(account=account, archive_by_year=request.POST.get("archive_by_year") == "1")
    return _answer(request, back=_manage(account.pk), text=_("Settings saved."))
