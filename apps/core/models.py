from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


# ---------------------------------------------------------------- sharing (apps/core/sharing.py)
class ShareLevel(models.IntegerChoices):
    """Ordered rights: each level includes the ones below, so "best level" is a MAX()."""

    READ = 1, _("Read")
    WRITE = 2, _("Read and write")
    MANAGE = 3, _("Manage")


class Share(models.Model):
    """One grant of one collection to one user or one group (see apps/core/sharing.py)."""

    collection_kind = models.CharField(_("collection kind"), max_length=64)
    collection_id = models.BigIntegerField(_("collection id"))
    grantee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="shares_received"
    )
    grantee_group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="shares_received"
    )
    level = models.PositiveSmallIntegerField(_("level"), choices=ShareLevel.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="shares_granted"
    )
    granted_at = models.DateTimeField(_("granted at"), auto_now=True)

    class Meta:
        verbose_name = _("share")
        verbose_name_plural = _("shares")
        constraints = [
            models.CheckConstraint(
                condition=Q(grantee_user__isnull=False, grantee_group__isnull=True)
                | Q(grantee_user__isnull=True, grantee_group__isnull=False),
                name="core_share_one_grantee",
            ),
            models.UniqueConstraint(
                fields=["collection_kind", "collection_id", "grantee_user"],
                condition=Q(grantee_user__isnull=False),
                name="core_share_unique_user",
            ),
            models.UniqueConstraint(
                fields=["collection_kind", "collection_id", "grantee_group"],
                condition=Q(grantee_group__isnull=False),
                name="core_share_unique_group",
            ),
        ]
        indexes = [
            models.Index(fields=["grantee_user", "collection_kind"], name="core_share_user_kind"),
            models.Index(fields=["grantee_group", "collection_kind"], name="core_share_group_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.collection_kind}#{self.collection_id} → {self.grantee_user_id or self.grantee_group_id}"


# ---------------------------------------------------------------- change log (apps/core/changes.py)
class Change(models.Model):
    """One change of one resource inside a collection; DAV sync tokens are these ids.

    Rows are only ever added, so "what changed in collection C since token T" is an index range
    scan on (kind, id, pk > T): its cost follows the number of changes, not the collection size.
    """

    id = models.BigAutoField(primary_key=True)
    collection_kind = models.CharField(max_length=64)
    collection_id = models.BigIntegerField()
    # The resource's name inside the collection (its DAV href segment, e.g. "abc.vcf").
    name = models.CharField(max_length=255)
    deleted = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("changes")
        indexes = [models.Index(fields=["collection_kind", "collection_id", "id"], name="core_change_collection")]

    def __str__(self) -> str:
        return f"{self.collection_kind}#{self.collection_id}/{self.name} @{self.pk}"
