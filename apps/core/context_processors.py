from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from apps.chat.presence import is_busy
from apps.core.navigation import nav_for_request


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"site_name": settings.SITE_NAME}
    # Lazy: fragments (a reading pane, a page of rows) render without the shell and do not pay
    # for its Redis round trip; a page reads each once.
    return {
        "site_name": settings.SITE_NAME,
        "nav": SimpleLazyObject(lambda: nav_for_request(request)),
        "busy": SimpleLazyObject(lambda: _busy(user.pk)),
        "presence_idle_seconds": settings.RUCHE_PRESENCE_IDLE_SECONDS,
    }


def _busy(user_id: int) -> bool:
    try:
        return is_busy(user_id)
    except redis.RedisError:
        return False  # Redis down: pages (the status page first) still render
