from django.urls import re_path

from apps.dav import views

app_name = "dav"

urlpatterns = [
    # With or without the trailing slash: some clients (vdirsyncer) add one before falling back.
    re_path(r"^\.well-known/carddav/?$", views.well_known, name="well_known_carddav"),
    re_path(r"^\.well-known/caldav/?$", views.well_known, name="well_known_caldav"),
    re_path(r"^dav(?:/.*)?$", views.dav, name="dav"),
]
