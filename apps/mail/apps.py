from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from apps.core.navigation import NavItem


class MailConfig(AppConfig):
    name = "apps.mail"
    label = "mail"
    verbose_name = _("Mail")
    nav_items = (NavItem(label=_("Mail"), url_name="mail:home", icon="mail"),)
