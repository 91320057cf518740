from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest

from apps.chat.presence import is_busy
from apps.core.navigation import nav_for_request


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"site_name": settings.SITE_NAME}
    try:
        busy = is_busy(user.pk)
    except redis.RedisError:
        busy = False  # Redis down: pages (the status page first) still render
    return {
        "site_name": settings.SITE_NAME,
        "nav": nav_for_request(request),
        "busy": busy,
        "presence_idle_seconds": settings.RUCHE_PRESENCE_IDLE_SECONDS,
    }
