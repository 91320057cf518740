"""Identities: the From name and address, Reply-To and signature a message is sent with.

Every account has at least one, made from the account itself on first use.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from apps.mail.compose import ComposeError, check_address, parse_recipients
from apps.mail.models import Identity, MailAccount


def identities_for_account(*, account: MailAccount) -> list[Identity]:
    """The account's identities, default first; the first one is created from the account."""
    found = list(Identity.objects.filter(account=account))
    if not found:
        found = [
            Identity.objects.create(
                account=account, name=account.display_name, email_address=account.email_address, is_default=True
            )
        ]
    return found


def identity_default(*, account: MailAccount) -> Identity:
    return identities_for_account(account=account)[0]


def _checked(name: str, email_address: str, reply_to: str) -> tuple[str, str, str]:
    if "\r" in name or "\n" in name:
        raise ComposeError(_("A name cannot contain line breaks."))
    address = check_address(email_address)
    reply = ", ".join(f"{a.address}" if not a.name else f'"{a.name}" <{a.address}>' for a in parse_recipients(reply_to))
    return name.strip()[:150], address, reply[:500]


@transaction.atomic
def identity_save(
    *,
    account: MailAccount,
    identity: Identity | None = None,
    name: str,
    email_address: str,
    reply_to: str = "",
    signature: str = "",
    is_default: bool = False,
) -> Identity:
    """Creates or updates an identity; raises ComposeError for an invalid address."""
    name, email_address, reply_to = _checked(name, email_address, reply_to)
    identity = identity or Identity(account=account)
    identity.name, identity.email_address, identity.reply_to = name, email_address, reply_to
    identity.signature = signature.replace("\r\n", "\n").strip("\n")[:5000]
    identity.is_default = is_default or not Identity.objects.filter(account=account).exclude(pk=identity.pk).exists()
    identity.save()
    if identity.is_default:
        Identity.objects.filter(account=account, is_default=True).exclude(pk=identity.pk).update(is_default=False)
    return identity


@transaction.atomic
def identity_delete(*, identity: Identity) -> None:
    account = identity.account
    if Identity.objects.filter(account=account).count() <= 1:
        raise ComposeError(_("An account keeps at least one identity."))
    was_default = identity.is_default
    identity.delete()
    if was_default:
        first = Identity.objects.filter(account=account).first()
        if first is not None:
            first.is_default = True
            first.save(update_fields=["is_default"])


def my_addresses(*, account: MailAccount) -> set[str]:
    """Every address that is "me" for this account (left out of a reply all)."""
    found = {account.email_address.lower()}
    found.update(a.lower() for a in Identity.objects.filter(account=account).values_list("email_address", flat=True))
    return found
