from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from apps.chat.selectors import colleagues_with_presence
from apps.core.health import system_status
from apps.core.types import AuthedRequest


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    colleagues = colleagues_with_presence(user_id=request.user.pk)
    return render(
        request,
        "core/home.html",
        {
            "colleagues": colleagues,
            "online_count": sum(1 for c in colleagues if c.status != "offline"),
        },
    )


@require_GET
@cache_control(max_age=86400, public=True)
def manifest(request: HttpRequest) -> JsonResponse:
    data = {
        "name": settings.SITE_NAME,
        "short_name": settings.SITE_NAME,
        "description": _("Mail, contacts, calendars, files and chat for your group."),
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b45309",
        "icons": [
            {"src": static("img/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: answers as long as the web process runs."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    """Staff only: the same report as `manage.py status`."""
    if not request.user.is_staff:
        raise PermissionDenied
    response = render(request, "core/status.html", {"status": system_status()})
    response.headers["Cache-Control"] = "no-store"
    return response
