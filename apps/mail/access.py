"""Permission-checked getters for mail objects. Views, tasks and consumers use these, never raw queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from apps.mail.models import MailAccount

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def mail_account_for_user(
    *, user: AbstractBaseUser | AnonymousUser, account_id: int, write: bool = False
) -> MailAccount:
    """The user's own account, or 404 (never 403: another person's account does not exist for you).

    Mail accounts are personal, so reading and writing need the same right today; `write` keeps
    the signature of every access function for when delegated access arrives.
    """
    if not user.is_authenticated:
        raise Http404
    try:
        return MailAccount.objects.get(pk=account_id, owner_id=user.pk)
    except (MailAccount.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
