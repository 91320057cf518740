"""Reads for mail accounts, always scoped to a user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from apps.mail.models import MailAccount

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def mail_accounts_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[MailAccount]:
    if not user.is_authenticated:
        return MailAccount.objects.none()
    return MailAccount.objects.filter(owner_id=user.pk).order_by("label", "email_address")
