from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.core.models import Share


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Who may reach which collection: an admin can see and revoke shares (granting is the owners')."""

    list_display = (
        "collection_kind",
        "collection_id",
        "grantee_user",
        "grantee_group",
        "level",
        "granted_by",
        "granted_at",
    )
    list_filter = ("collection_kind", "level")
    search_fields = ("grantee_user__username", "grantee_group__name", "granted_by__username")
    readonly_fields = ("collection_kind", "collection_id", "grantee_user", "grantee_group", "granted_by", "granted_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
