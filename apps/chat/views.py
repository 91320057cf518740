from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.chat import presence
from apps.core.types import AuthedRequest


@require_POST
@login_required
def presence_status(request: AuthedRequest) -> HttpResponse:
    """Set or clear "busy". Works as a plain form post and as a fetch()."""
    choice = request.POST.get("status")
    if choice not in ("available", "busy"):
        return HttpResponseBadRequest("status must be 'available' or 'busy'")
    state = presence.presence_set_busy(user_id=request.user.pk, busy=choice == "busy")
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": state["status"], "busy": choice == "busy"})
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)
