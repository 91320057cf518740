from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control

User = get_user_model()


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/profile.html", {})


@login_required
@cache_control(private=True, max_age=3600)
def avatar(request: HttpRequest, user_id: int) -> FileResponse:
    """Avatars are visible to every signed-in user of the instance (the directory shows them)."""
    person = get_object_or_404(User, pk=user_id, is_active=True)
    if not person.avatar:
        raise Http404
    response = FileResponse(person.avatar.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return response
