"""Permission-checked getters for mail objects. Views, tasks and consumers use these, never raw queries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from apps.mail.models import Draft, Folder, Identity, MailAccount, Message, Outbox

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
        # With its thread: the reading pane lists the conversation only when it holds several messages.
        return Message.objects.select_related("folder", "account", "thread").get(
            pk=message_id, account__owner_id=user.pk
        )
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


# ---------------------------------------------------------------- composing (apps.mail.drafts, outbox, identities)
def draft_for_user(*, user: AbstractBaseUser | AnonymousUser, draft_id: int, write: bool = False) -> Draft:
    """One of the user's drafts, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Draft.objects.select_related("account", "identity", "source").get(pk=draft_id, owner_id=user.pk)
    except (Draft.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def outbox_for_user(*, user: AbstractBaseUser | AnonymousUser, outbox_id: int, write: bool = False) -> Outbox:
    """One of the user's held or sent messages, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Outbox.objects.select_related("account").get(pk=outbox_id, owner_id=user.pk)
    except (Outbox.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def identity_for_user(*, user: AbstractBaseUser | AnonymousUser, identity_id: int, write: bool = False) -> Identity:
    """An identity of one of the user's accounts, or 404."""
    if not user.is_authenticated:
        raise Http404
    try:
        return Identity.objects.select_related("account").get(pk=identity_id, account__owner_id=user.pk)
    except (Identity.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
