"""The reader's notices: one-click unsubscribe, read receipts, "received, thank you"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.types import AuthedRequest
from apps.mail import receipts, unsubscribe
from apps.mail.access import message_for_user
from apps.mail.bodies import MessageUnavailableError
from apps.mail.imap import ImapError
from apps.mail.smtp import SmtpError


def _back(message_id: int) -> HttpResponse:
    return redirect("mail:message", message_id=message_id)


@require_POST
@login_required
def message_unsubscribe(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = message_for_user(user=request.user, message_id=message_id, write=True)
    method = request.POST.get("method")
    try:
        if method == "one-click":
            unsubscribe.unsubscribe_one_click(message=message)
            messages.success(request, _("Unsubscribe request sent to the list. It may take a few days to apply."))
        elif method == "mail":
            address = unsubscribe.unsubscribe_by_mail(message=message)
            messages.success(request, _("Unsubscribe message sent to %(address)s.") % {"address": address})
        else:
            return HttpResponseBadRequest("Unknown unsubscribe method.")
    except (unsubscribe.UnsubscribeError, SmtpError) as exc:
        messages.error(request, str(exc))
    return _back(message.pk)


@require_POST
@login_required
def message_receipt(request: AuthedRequest, message_id: int) -> HttpResponse:
    """ "Send" or "Ignore" the read receipt the sender asked for; either way it is not asked again."""
    message = message_for_user(user=request.user, message_id=message_id, write=True)
    choice = request.POST.get("choice")
    try:
        if choice == "send":
            address = receipts.receipt_send(message=message)
            messages.success(request, _("Read receipt sent to %(address)s.") % {"address": address})
        elif choice == "ignore":
            receipts.receipt_ignore(message=message)
        else:
            return HttpResponseBadRequest("Unknown choice.")
    except (receipts.ReceiptError, SmtpError, ImapError, MessageUnavailableError) as exc:
        messages.error(request, str(exc))
    return _back(message.pk)


@require_POST
@login_required
def message_acknowledge(request: AuthedRequest, message_id: int) -> HttpResponse:
    message = message_for_user(user=request.user, message_id=message_id, write=True)
    try:
        address = receipts.acknowledge_send(message=message)
        messages.success(request, _("“Received, thank you” sent to %(address)s.") % {"address": address})
    except (receipts.ReceiptError, SmtpError, ImapError, MessageUnavailableError) as exc:
        messages.error(request, str(exc))
    return _back(message.pk)
