from __future__ import annotations

from typing import Any

from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import AppPassword, User


class AuthenticatorInline(admin.TabularInline):  # type: ignore[type-arg]
    """A user's second factors, so an admin can remove a lost phone or key."""

    model = Authenticator
    fields = ("type", "created_at", "last_used_at")
    readonly_fields = fields
    extra = 0
    can_delete = True
    verbose_name = _("second factor")
    verbose_name_plural = _("second factors (delete one to reset a lost device)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # only the user can enrol a device


@admin.register(User)
class UserAdmin(DjangoUserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "display_name", "email", "is_active", "is_staff", "language", "has_mfa", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "language", "groups")
    search_fields = ("username", "email", "display_name", "first_name", "last_name", "phone", "job_title")
    ordering = ("username",)
    # The avatar is shown, not uploaded here: only the profile page re-encodes images safely.
    # The LDAP columns belong to the feed (apps/contacts/ldap_feed.py): shown, never edited here.
    readonly_fields = ("avatar", "last_login", "date_joined", "ldap_dn", "ldap_created", "ldap_left_at")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Profile"), {"fields": ("display_name", "avatar", "language", "time_zone", "theme")}),
        (_("In the directory"), {"fields": ("phone", "job_title", "ldap_dn", "ldap_created", "ldap_left_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "display_name", "password1", "password2")}),
    )
    inlines = (AuthenticatorInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        # One EXISTS per row, computed by the same query as the list.
        return (
            super()
            .get_queryset(request)
            .annotate(_has_mfa=Exists(Authenticator.objects.filter(user=OuterRef("pk")).exclude(type="recovery_codes")))
        )

    @admin.display(boolean=True, description=_("two-factor"), ordering="_has_mfa")
    def has_mfa(self, obj: User) -> bool:
        return bool(getattr(obj, "_has_mfa", False))


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AllauthAuthenticatorAdmin):
    """allauth's listing, searchable by user; the secret data is never shown."""

    search_fields = ("user__username", "user__email", "user__display_name")
    list_select_related = ("user",)
    fields = ("user", "type", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AppPassword)
class AppPasswordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Named device passwords: an admin can see when each was last used and revoke it."""

    list_display = ("user", "name", "created_at", "last_used_at")
    search_fields = ("user__username", "name")
    readonly_fields = ("user", "name", "created_at", "last_used_at")
    exclude = ("lookup", "secret_hash")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only the user creates one, and sees its secret once
