from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class User(AbstractUser):
    """A person of the instance. The profile lives on the user: one row, no extra query."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    avatar = models.ImageField(_("avatar"), upload_to="avatars/", blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: follow the browser's language."),
    )
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, choices=_time_zone_choices)
    # Shown in the directory of colleagues (contacts); an LDAP feed may fill them.
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    # The LDAP feed of the directory (apps/contacts/ldap_feed.py): the entry that feeds this user
    # (empty: not fed, the person edits every field), whether the feed created the account (only
    # those are deactivated when they leave LDAP), and when the feed deactivated it (so a return
    # reactivates what the feed closed, never what an administrator closed).
    ldap_dn = models.CharField(_("LDAP entry"), max_length=512, blank=True)
    ldap_created = models.BooleanField(_("created from LDAP"), default=False)
    ldap_left_at = models.DateTimeField(_("left LDAP at"), null=True, blank=True)
    theme = models.CharField(
        _("theme"),
        max_length=5,
        default="auto",
        choices=[("auto", _("Follow the system")), ("light", _("Light")), ("dark", _("Dark"))],
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def shown_name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def initials(self) -> str:
        parts = [p for p in self.shown_name.replace(".", " ").split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or "?"


class AppPassword(models.Model):
    """A named password for one device or program (DAV clients), revocable on its own.

    Only a hash of the secret is stored; `lookup` (the secret's first group, not enough to guess
    the rest) finds the one row to verify, so a check costs one hash, not one per password.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(_("name"), max_length=100)
    lookup = models.CharField(max_length=8)
    secret_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("app password")
        verbose_name_plural = _("app passwords")
        indexes = [models.Index(fields=["user", "lookup"], name="accounts_apppw_user_lookup")]

    def __str__(self) -> str:
        return self.name
