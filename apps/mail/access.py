"""Permission-checked getters for mail objects. Views, tasks and consumers use these, never raw queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from apps.mail.models import Folder, MailAccount, Message

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


def folder_for_user(*, user: AbstractBaseUser | AnonymousUser, folder_id: int, write: bool = False) -> Folder:
    """A folder of one of the user's accounts, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Folder.objects.select_related("account").get(pk=folder_id, account__owner_id=user.pk)
    except (Folder.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def message_for_user(*, user: AbstractBaseUser | AnonymousUser, message_id: int, write: bool = False) -> Message:
    """A message of one of the user's accounts, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Message.objects.select_related("folder", "account").get(pk=message_id, account__owner_id=user.pk)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
