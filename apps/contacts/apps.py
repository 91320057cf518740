from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from apps.core.navigation import NavItem


class ContactsConfig(AppConfig):
    name = "apps.contacts"
    label = "contacts"
    verbose_name = _("Contacts")
    nav_items = (NavItem(label=_("Contacts"), url_name="contacts:list", icon="users"),)
