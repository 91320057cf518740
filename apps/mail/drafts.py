"""Drafts: what the composer holds, kept in the database AND in the server's Drafts folder.

Each save replaces the server copy: APPEND the new version (\\Draft \\Seen), then delete the
previous one by its UID, so the Drafts folder holds one copy per draft and any device can open
it. The server copy failing (server down) never loses the text: the row is saved first.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass
from email import policy
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _

from apps.mail import mime
from apps.mail.addresses import Address, parse_address_list
from apps.mail.bodies import MessageUnavailableError, message_raw
from apps.mail.compose import (
    ComposeError,
    Outgoing,
    OutgoingAttachment,
    build_message,
    check_address,
    format_addresses,
    forward_body,
    forward_subject,
    message_bytes,
    new_message_id,
    parse_recipients,
    references_for_reply,
    reply_body,
    reply_recipients,
    reply_subject,
    signature_block,
)
from apps.mail.connections import imap_call
from apps.mail.identities import identities_for_account, identity_default, my_addresses
from apps.mail.imap import ImapConnection, ImapError
from apps.mail.models import Draft, DraftAttachment, Folder, FolderRole, Identity, MailAccount, Message

if TYPE_CHECKING:
    from apps.accounts.models import User

log = logging.getLogger(__name__)

KINDS = ("", "reply", "reply_all", "forward", "forward_attachment")


class DraftError(Exception):
    """In plain words, for the person."""


@dataclass
class DraftFields:
    """The composer's fields, as posted."""

    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    is_html: bool = False
    request_receipt: bool = False
    identity_id: int | None = None


@dataclass
class DraftContext:
    """What a new draft continues (a reply's threading headers, a forward's original)."""

    kind: str = ""
    source: Message | None = None
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""


# ---------------------------------------------------------------- prefill (new, reply, forward)
def draft_prefill(
    *, account: MailAccount, kind: str = "", source: Message | None = None, selection: str = ""
) -> tuple[DraftFields, DraftContext]:
    """The composer's starting content. For replies the quote goes BELOW an empty line (the
    cursor's place); `selection` (text selected in the reader) replaces the whole body as quote."""
    identity = identity_default(account=account)
    fields = DraftFields(identity_id=identity.pk)
    context = DraftContext(kind=kind if kind in KINDS else "", message_id=new_message_id(identity.email_address))
    if source is None or not context.kind:
        fields.text = signature_block(identity.signature)
        context.kind = ""
        return fields, context
    context.source = source
    try:
        raw = message_raw(message=source)
    except MessageUnavailableError as exc:
        raise DraftError(str(exc)) from None
    parsed = mime.parse_message(raw, cid_url=None)
    identity = _identity_for_reply(account, parsed) or identity
    fields.identity_id = identity.pk
    sender_name = (parsed.from_[0].name or parsed.from_[0].address) if parsed.from_ else _("someone")
    if context.kind in ("reply", "reply_all"):
        to, cc = reply_recipients(
            sender=parsed.from_,
            reply_to=parsed.reply_to,
            to=parsed.to,
            cc=parsed.cc,
            mine=my_addresses(account=account),
            reply_all=context.kind == "reply_all",
        )
        fields.to, fields.cc = format_addresses(_valid(to)), format_addresses(_valid(cc))
        fields.subject = reply_subject(parsed.subject)
        quoted = selection.strip() or parsed.text
        fields.text = reply_body(quoted=quoted, date=parsed.date, name=sender_name, signature=identity.signature)
        context.in_reply_to = parsed.message_id
        context.references = references_for_reply(
            message_id=parsed.message_id, references=source.references, in_reply_to=source.in_reply_to
        )
    else:
        fields.subject = forward_subject(parsed.subject)
        if context.kind == "forward":
            fields.text = forward_body(
                text=selection.strip() or parsed.text,
                subject=parsed.subject,
                sender=format_addresses(parsed.from_),
                date=parsed.date,
                to=format_addresses(parsed.to),
                cc=format_addresses(parsed.cc),
                signature=identity.signature,
            )
        else:
            fields.text = signature_block(identity.signature)
    return fields, context


def _valid(addresses: list[Address]) -> list[Address]:
    kept = []
    for address in addresses:
        try:
            kept.append(Address(address.name, check_address(address.address)))
        except ComposeError:
            continue
    return kept


def _identity_for_reply(account: MailAccount, parsed: mime.RenderedMessage) -> Identity | None:
    """The identity the original was addressed to (a reply goes out from the address written to)."""
    addressed = {a.address.lower() for a in (*parsed.to, *parsed.cc)}
    return next((i for i in identities_for_account(account=account) if i.email_address.lower() in addressed), None)


# ---------------------------------------------------------------- saving
def _fields_onto(draft: Draft, fields: DraftFields) -> None:
    draft.to, draft.cc, draft.bcc = fields.to[:10000], fields.cc[:10000], fields.bcc[:10000]
    draft.subject = fields.subject[:1000]
    draft.text, draft.html, draft.is_html = fields.text, fields.html, fields.is_html
    draft.request_receipt = fields.request_receipt
    identities = identities_for_account(account=draft.account)
    chosen = next((i for i in identities if i.pk == fields.identity_id), None)
    draft.identity = chosen or identities[0]


@transaction.atomic
def draft_create(*, owner: User, account: MailAccount, fields: DraftFields, context: DraftContext) -> Draft:
    """A new draft row (no server copy yet); a forward brings the original's attachments or the
    original itself (as attachment)."""
    source = context.source
    draft = Draft(
        owner=owner,
        account=account,
        kind=context.kind if context.kind in KINDS else "",
        source=source,
        message_id=context.message_id if re.fullmatch(r"<[^<>\s]+@[^<>\s]+>", context.message_id) else "",
        in_reply_to=context.in_reply_to[:500],
        references=context.references[:5000],
    )
    _fields_onto(draft, fields)
    draft.message_id = draft.message_id or new_message_id(draft.identity.email_address if draft.identity else "")
    if source is not None and draft.kind in ("forward", "forward_attachment"):
        try:
            raw = message_raw(message=source)
        except MessageUnavailableError as exc:
            raise DraftError(str(exc)) from None
        if draft.kind == "forward_attachment":
            draft.forwarded_raw = raw
        draft.save()
        if draft.kind == "forward":
            _copy_attachments(draft, raw)
    else:
        draft.save()
    return draft


def _copy_attachments(draft: Draft, raw: bytes) -> None:
    parsed = mime.parse_message(raw, cid_url=None)
    for attachment in parsed.attachments:
        if attachment.inline and attachment.content_id:
            continue  # pictures of the original's HTML body: the inline forward quotes its text
        _content_type, filename, data = mime.part_bytes(raw, attachment.part_id)
        DraftAttachment.objects.create(
            draft=draft,
            filename=attachment.filename or filename,
            content_type=attachment.content_type,
            size=len(data),
            data=data,
        )


def draft_update(*, draft: Draft, fields: DraftFields) -> Draft:
    _fields_onto(draft, fields)
    draft.save()
    return draft


def draft_outgoing(*, draft: Draft, strict: bool = True) -> Outgoing:
    """The draft as a message to build. `strict`: bad addresses raise ComposeError; otherwise
    (a server copy of a half-written draft) they are left out of the copy."""
    identity = draft.identity or identity_default(account=draft.account)

    def recipients(value: str) -> list[Address]:
        try:
            return parse_recipients(value)
        except ComposeError:
            if strict:
                raise
            return []

    return Outgoing(
        sender=Address(identity.name, check_address(identity.email_address)),
        to=recipients(draft.to),
        cc=recipients(draft.cc),
        bcc=recipients(draft.bcc),
        reply_to=recipients(identity.reply_to),
        subject=draft.subject,
        text=draft.text,
        html=draft.html if draft.is_html else "",
        message_id=draft.message_id,
        in_reply_to=draft.in_reply_to,
        references=draft.references,
        request_receipt=draft.request_receipt,
        attachments=[OutgoingAttachment(a.filename, a.content_type, bytes(a.data)) for a in draft.attachments.all()],
        forwarded_raw=bytes(draft.forwarded_raw) if draft.forwarded_raw is not None else None,
        forwarded_name=f"{draft.source.subject if draft.source else ''}.eml".lstrip(".") or "message.eml",
    )


def _drafts_folder(account: MailAccount) -> Folder | None:
    return Folder.objects.filter(account=account, role=FolderRole.DRAFTS).first()


def draft_store_on_server(*, draft: Draft) -> str:
    """Replaces the server copy of the draft; returns a warning in words ("" when stored)."""
    folder = _drafts_folder(draft.account)
    if folder is None:
        return _("This account has no Drafts folder on the server: the draft is kept in Ruche only.")
    try:
        raw = message_bytes(build_message(draft_outgoing(draft=draft, strict=False), draft=True))
    except ComposeError as exc:
        return str(exc)
    previous = draft.server_uid if draft.server_folder == folder.name else None
    name = folder.name

    def store(imap: ImapConnection) -> int | None:
        uid = imap.append_returning_uid(name, raw, flags=(b"\\Draft", b"\\Seen"))
        if previous is not None and previous != uid:
            imap.delete_uids(name, [previous])
        return uid

    try:
        uid = imap_call(draft.account, store)
    except ImapError as exc:
        log.info("draft %s not stored on the server: %s", draft.pk, exc)
        return _("The draft is kept in Ruche, but the mail server could not store it: %(reason)s") % {"reason": exc}
    Draft.objects.filter(pk=draft.pk).update(server_uid=uid, server_folder=name)
    draft.server_uid, draft.server_folder = uid, name
    return ""


def draft_remove_from_server(*, draft: Draft) -> None:
    """Deletes the server copy (after sending, or when the person discards the draft)."""
    if draft.server_uid is None or not draft.server_folder:
        return
    name, uid = draft.server_folder, draft.server_uid
    try:
        imap_call(draft.account, lambda imap: imap.delete_uids(name, [uid]))
    except ImapError as exc:
        log.info("draft %s: the server copy could not be deleted: %s", draft.pk, exc)
        return
    Draft.objects.filter(pk=draft.pk).update(server_uid=None)


def draft_discard(*, draft: Draft) -> None:
    draft_remove_from_server(draft=draft)
    draft.delete()
    _follow_drafts(draft.account)


def _follow_drafts(account: MailAccount) -> None:
    from apps.mail.organise import folders_follow  # late: organise imports the sync engine

    folder = _drafts_folder(account)
    if folder is not None:
        folders_follow([folder])


# ---------------------------------------------------------------- attachments
def draft_attach(*, draft: Draft, filename: str, content_type: str, data: bytes) -> DraftAttachment:
    name = mime.safe_filename(filename, content_type=content_type or "application/octet-stream")
    kind = content_type if re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type or "") else "application/octet-stream"
    return DraftAttachment.objects.create(draft=draft, filename=name, content_type=kind, size=len(data), data=data)


# ---------------------------------------------------------------- opening a Drafts message
def draft_from_message(*, owner: User, message: Message) -> Draft:
    """The composer's draft for a message of the Drafts folder (written on another device, or
    by this Ruche): the row that owns this server copy, else a new row made from its content."""
    known = Draft.objects.filter(
        owner=owner, account=message.account, server_folder=message.folder.name, server_uid=message.uid
    ).first()
    if known is not None:
        return known
    if message.message_id:
        same = Draft.objects.filter(owner=owner, account=message.account, message_id=message.message_id).first()
        if same is not None:
            Draft.objects.filter(pk=same.pk).update(server_uid=message.uid, server_folder=message.folder.name)
            same.refresh_from_db()
            return same
    try:
        raw = message_raw(message=message)
    except MessageUnavailableError as exc:
        raise DraftError(str(exc)) from None
    parsed = mime.parse_message(raw, cid_url=None)
    original = email.message_from_bytes(raw, policy=policy.default)
    account = message.account
    identities = identities_for_account(account=account)
    sender = parsed.from_[0].address.lower() if parsed.from_ else ""
    identity = next((i for i in identities if i.email_address.lower() == sender), identities[0])
    html_part = original.get_body(preferencelist=("html",)) if original.is_multipart() else None
    with transaction.atomic():
        draft = Draft.objects.create(
            owner=owner,
            account=account,
            identity=identity,
            to=format_addresses(_valid(parsed.to)),
            cc=format_addresses(_valid(parsed.cc)),
            bcc=format_addresses(_valid(parsed.bcc)),
            subject=parsed.subject[:1000],
            text=parsed.text,
            html=str(html_part.get_content()) if html_part is not None else "",
            is_html=html_part is not None,
            request_receipt=bool(original.get("Disposition-Notification-To")),
            message_id=parsed.message_id or new_message_id(identity.email_address),
            in_reply_to=str(original.get("In-Reply-To") or "")[:500],
            references=str(original.get("References") or "")[:5000],
            server_uid=message.uid,
            server_folder=message.folder.name,
        )
        for attachment in parsed.attachments:
            if attachment.inline and attachment.content_id:
                continue
            _content_type, filename, data = mime.part_bytes(raw, attachment.part_id)
            DraftAttachment.objects.create(
                draft=draft,
                filename=attachment.filename or filename,
                content_type=attachment.content_type,
                size=len(data),
                data=data,
            )
    return draft


def parse_fields_addresses(value: str) -> list[Address]:
    """For display (chips): every address of a field, valid or not."""
    return [a for a in parse_address_list(value) if a.address]
