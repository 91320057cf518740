"""`./manage.py directory_ldap_sync`: the directory's LDAP feed now, in the foreground (what beat runs hourly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.contacts.ldap import LdapError, ldap_enabled
from apps.contacts.ldap_feed import directory_ldap_sync


class Command(BaseCommand):
    help = "Create and update users from LDAP (RUCHE_LDAP_*); print created/updated/deactivated."

    def handle(self, *args: Any, **options: Any) -> None:
        if not ldap_enabled():
            raise CommandError("RUCHE_LDAP_URL is not set: there is no LDAP server to read.")
        try:
            report = directory_ldap_sync()
        except LdapError as error:
            raise CommandError(str(error)) from error
        for line in report.skipped:
            self.stderr.write(f"skipped {line}")
        self.stdout.write(
            f"created {report.created}, updated {report.updated}, deactivated {report.deactivated}, "
            f"unchanged {report.unchanged}, skipped {len(report.skipped)}"
        )
