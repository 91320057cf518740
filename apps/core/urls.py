from django.urls import path
from django.views.generic import RedirectView

from apps.core import views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("favicon.ico", RedirectView.as_view(url="/static/img/favicon.ico", permanent=True)),
    path("healthz", views.healthz, name="healthz"),
    path("status/", views.status, name="status"),
]
