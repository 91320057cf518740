from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DavConfig(AppConfig):
    """WebDAV/CardDAV server (no pages, so no rail entry)."""

    name = "apps.dav"
    label = "dav"
    verbose_name = _("DAV")
