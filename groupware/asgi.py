"""ASGI entry point: HTTP through Django, WebSockets through Channels at /ws/."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "groupware.settings")
# The web process borrows PostgreSQL connections from a pool (see DATABASES in settings).
os.environ.setdefault("RUCHE_DB_POOL", "true")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the consumers import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from groupware.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What is loaded by now (Django, the apps, their modules) lives as long as the process: frozen out
# of the collector's sight, a full collection no longer walks its ~150k objects (a ~60 ms pause
# every few hundred requests, measured on the mail list page).
gc.freeze()
