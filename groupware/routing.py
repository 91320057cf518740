from django.urls import path

from apps.core.consumers import ShellConsumer

websocket_urlpatterns = [path("ws/", ShellConsumer.as_asgi())]
