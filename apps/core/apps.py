from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from apps.core.navigation import NavItem


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = _("Core")
    nav_items = (
        NavItem(label=_("Home"), url_name="core:home", icon="home"),
        NavItem(label=_("Status"), url_name="core:status", icon="status", staff_only=True),
    )
