"""Sending: a message is held in the Outbox (undo delay or a chosen time), then submitted.

State machine of an `Outbox` row::

    queued ──(due; select_for_update)──> sending ──> sent
       │                                    └──────> failed   (the draft stays: fix and send again)
       └──(Undo / cancel)──> cancelled               (the draft goes back to the composer)

A Celery task with an ETA sends at `send_at`; beat's sweep (every 30 s) sends whatever is due and
was missed (lost task, restarted worker). The state moves to `sending` under select_for_update in
its own transaction before SMTP is spoken, so a second delivery of the task, or the sweep, finds
`sending` and does nothing: a message is never submitted twice. A worker that died while
`sending` leaves the row there; the sweep marks it failed after SENDING_STALE (the person checks
Sent) rather than risk a duplicate. The Message-ID is fixed when the draft is created.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail.addresses import Address
from apps.mail.compose import (
    ComposeError,
    build_message,
    encoded_size,
    max_message_bytes,
    mentions_attachment,
    message_bytes,
    own_text,
    parse_recipients,
)
from apps.mail.connections import imap_call
from apps.mail.drafts import draft_outgoing, draft_remove_from_server, draft_store_on_server
from apps.mail.imap import ImapError
from apps.mail.models import ComposePreferences, Draft, Folder, FolderRole, MailAccount, Outbox, OutboxState
from apps.mail.recipients import addresses_collect
from apps.mail.smtp import SmtpError, SmtpSettings, smtp_send, smtp_size_limit

if TYPE_CHECKING:
    from apps.accounts.models import User

log = logging.getLogger(__name__)

SENDING_STALE = timedelta(minutes=10)
SWEEP_BATCH = 100
MANY_RECIPIENTS = 10
SIZE_LIMIT_CACHE_SECONDS = 6 * 3600
MAX_SCHEDULE = timedelta(days=5 * 366)


class SendError(Exception):
    """The message cannot be queued; in plain words."""


@dataclass(frozen=True)
class Nudge:
    key: str
    text: str


class NudgesPending(SendError):  # noqa: N818 - a question for the person, not a failure
    def __init__(self, nudges: list[Nudge]) -> None:
        super().__init__(" ".join(n.text for n in nudges))
        self.nudges = nudges


# ---------------------------------------------------------------- preferences
def compose_preferences_for(*, user: User) -> ComposePreferences:
    preferences, _created = ComposePreferences.objects.get_or_create(user=user)
    return preferences


def compose_preferences_update(*, user: User, **values: object) -> ComposePreferences:
    preferences = compose_preferences_for(user=user)
    for name, value in values.items():
        if name in {f.name for f in ComposePreferences._meta.get_fields()} and name not in ("id", "user"):
            setattr(preferences, name, value)
    preferences.full_clean()
    preferences.save()
    return preferences


# ---------------------------------------------------------------- etiquette
def etiquette_nudges(*, draft: Draft, preferences: ComposePreferences) -> list[Nudge]:
    """What to ask before sending, each switchable off in the preferences."""
    nudges: list[Nudge] = []
    subject = draft.subject.strip()
    text = draft.text if not draft.is_html else own_text(draft.text or "") or draft.html
    attachments = list(draft.attachments.only("size", "filename"))
    has_attachment = bool(attachments) or draft.forwarded_raw is not None
    if preferences.nudge_empty_subject and not subject:
        nudges.append(Nudge("empty_subject", _("The subject is empty.")))
    letters = [c for c in subject if c.isalpha()]
    if preferences.nudge_capitals and len(letters) >= 4 and all(c.isupper() for c in letters):
        nudges.append(Nudge("capitals", _("The subject is in capitals, which reads as shouting.")))
    if (
        preferences.nudge_forward_comment
        and draft.kind in ("forward", "forward_attachment")
        and not own_text(draft.text)
    ):
        nudges.append(Nudge("forward_comment", _("You are forwarding without a word of your own.")))
    try:
        visible = len(parse_recipients(draft.to)) + len(parse_recipients(draft.cc))
    except ComposeError:
        visible = 0
    if preferences.nudge_many_recipients and visible > MANY_RECIPIENTS:
        nudges.append(
            Nudge(
                "many_recipients",
                _("%(count)s people will see each other's addresses: consider Bcc.") % {"count": visible},
            )
        )
    if preferences.nudge_missing_attachment and not has_attachment and mentions_attachment(text or ""):
        nudges.append(Nudge("missing_attachment", _("The text mentions an attachment, but nothing is attached.")))
    from django.conf import settings

    warn = settings.RUCHE_MAIL_ATTACHMENT_WARN_MB * 1_000_000
    if preferences.nudge_large_attachment and any(encoded_size(a.size) > warn for a in attachments):
        nudges.append(
            Nudge(
                "large_attachment", _("A large attachment may be refused or fill mailboxes: a share link is lighter.")
            )
        )
    return nudges


# ---------------------------------------------------------------- queueing
def account_size_limit(*, account: MailAccount) -> int:
    """The largest message this account may send: the server's SIZE (cached) or our maximum."""
    key = f"mail:smtp-size:{account.pk}:{account.smtp_host}:{account.smtp_port}"
    limit = cache.get(key)
    if limit is None:
        try:
            limit = smtp_size_limit(SmtpSettings.for_account(account), timeout=10) or 0
        except SmtpError:
            limit = 0
        cache.set(key, limit, SIZE_LIMIT_CACHE_SECONDS)
    return max_message_bytes(int(limit) or None)


def message_send(
    *,
    draft: Draft,
    send_at: datetime | None = None,
    dismissed: frozenset[str] | set[str] = frozenset(),
    now: datetime | None = None,
) -> Outbox:
    """Queues the draft: held for the undo delay, or until `send_at` (a scheduled send).

    Raises NudgesPending (etiquette questions not yet dismissed), ComposeError / SendError in
    plain words. The draft stays until the message is sent (Undo brings it back)."""
    now = now or timezone.now()
    preferences = compose_preferences_for(user=draft.owner)
    pending = [n for n in etiquette_nudges(draft=draft, preferences=preferences) if n.key not in dismissed]
    if pending:
        raise NudgesPending(pending)
    scheduled = send_at is not None
    if send_at is not None:
        if send_at <= now:
            raise SendError(_("Choose a time in the future."))
        if send_at > now + MAX_SCHEDULE:
            raise SendError(_("Choose a time within the next five years."))
    when = send_at or now + timedelta(seconds=preferences.undo_seconds)
    outgoing = draft_outgoing(draft=draft)
    recipients = outgoing.envelope_recipients
    if not recipients:
        raise SendError(_("Add at least one recipient."))
    outgoing.date = when
    raw = message_bytes(build_message(outgoing))
    limit = account_size_limit(account=draft.account)
    if len(raw) > limit:
        raise SendError(
            _("The message is %(size).1f MB; this account can send at most %(limit).1f MB.")
            % {"size": len(raw) / 1_000_000, "limit": limit / 1_000_000}
        )
    with transaction.atomic():
        if Outbox.objects.filter(draft=draft, state__in=[OutboxState.QUEUED, OutboxState.SENDING]).exists():
            raise SendError(_("This message is already on its way."))
        outbox = Outbox.objects.create(
            owner=draft.owner,
            account=draft.account,
            draft=draft,
            send_at=when,
            scheduled=scheduled,
            raw=raw,
            sender=outgoing.sender.address,
            recipients=recipients,
            message_id=outgoing.message_id,
            subject=draft.subject[:1000],
        )
        _enqueue_on_commit(outbox.pk, when)
    return outbox


def _enqueue_on_commit(outbox_id: int, when: datetime) -> None:
    from apps.mail.tasks import outbox_send_task  # late: tasks import this module

    transaction.on_commit(lambda: outbox_send_task.apply_async((outbox_id,), eta=when), robust=True)


def outbox_cancel(*, outbox: Outbox) -> Draft | None:
    """Takes a queued message back (Undo, or cancelling a scheduled send); returns its draft.
    Raises SendError when it is already being sent or sent."""
    with transaction.atomic():
        locked = Outbox.objects.select_for_update().get(pk=outbox.pk)
        if locked.state != OutboxState.QUEUED:
            raise SendError(
                _("Too late: the message has already been sent.")
                if locked.state != OutboxState.CANCELLED
                else _("This send was already cancelled.")
            )
        locked.state = OutboxState.CANCELLED
        locked.save(update_fields=["state"])
    outbox.state = OutboxState.CANCELLED
    return locked.draft


# ---------------------------------------------------------------- delivering
def outbox_deliver(*, outbox_id: int, now: datetime | None = None) -> bool:
    """Sends one queued message if it is due. True when this call sent it. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        outbox = Outbox.objects.select_for_update().filter(pk=outbox_id).first()
        if outbox is None or outbox.state != OutboxState.QUEUED or outbox.send_at > now:
            return False
        outbox.state = OutboxState.SENDING
        outbox.sending_since = timezone.now()
        outbox.save(update_fields=["state", "sending_since"])
    account = MailAccount.objects.get(pk=outbox.account_id)
    try:
        smtp_send(
            SmtpSettings.for_account(account),
            bytes(outbox.raw),
            sender=outbox.sender,
            recipients=list(outbox.recipients),
        )
    except SmtpError as exc:
        Outbox.objects.filter(pk=outbox.pk).update(state=OutboxState.FAILED, error=str(exc)[:2000])
        log.info("outbox %s not sent: %s", outbox.pk, exc)
        return False
    Outbox.objects.filter(pk=outbox.pk).update(state=OutboxState.SENT, sent_at=timezone.now(), error="")
    _after_sent(outbox, account)
    return True


def _after_sent(outbox: Outbox, account: MailAccount) -> None:
    """The copy in Sent, the draft gone, the addresses remembered. The message is out: a failure
    here is recorded on the row, never turned into a resend."""
    from apps.mail.organise import folders_follow  # late: organise imports the sync engine

    touched: list[Folder] = []
    notes: list[str] = []
    sent = Folder.objects.filter(account=account, role=FolderRole.SENT).first()
    if not account.server_files_sent:
        if sent is None:
            notes.append(_("This account has no Sent folder: no copy was kept."))
        else:
            raw, name = bytes(outbox.raw), sent.name
            try:
                imap_call(account, lambda imap: imap.append(name, raw, flags=(b"\\Seen",)))
                touched.append(sent)
            except ImapError as exc:
                notes.append(_("Sent, but the copy in Sent could not be stored: %(reason)s") % {"reason": exc})
    elif sent is not None:
        touched.append(sent)
    draft = Draft.objects.filter(pk=outbox.draft_id).select_related("account").first() if outbox.draft_id else None
    if draft is not None:
        draft_remove_from_server(draft=draft)
        drafts = Folder.objects.filter(account=account, role=FolderRole.DRAFTS).first()
        if drafts is not None:
            touched.append(drafts)
        Outbox.objects.filter(pk=outbox.pk).update(draft=None)
        draft.delete()
    try:
        addresses_collect(owner_id=outbox.owner_id, addresses=_addresses(outbox.recipients), sent=True)
    except Exception:  # never let bookkeeping fail a sent message
        log.exception("outbox %s: addresses not collected", outbox.pk)
    if notes:
        Outbox.objects.filter(pk=outbox.pk).update(error=" ".join(notes))
    folders_follow(touched)


def _addresses(recipients: list[str]) -> list[Address]:
    return [Address("", r) for r in recipients]


def outboxes_send_due(*, now: datetime | None = None) -> int:
    """Beat's sweep: sends what is due (a lost or late task); fails what died while sending."""
    now = now or timezone.now()
    stale = Outbox.objects.filter(state=OutboxState.SENDING, sending_since__lt=now - SENDING_STALE)
    stale.update(
        state=OutboxState.FAILED,
        error=_("Ruche stopped while sending this message: look in Sent before sending it again."),
    )
    sent = 0
    due = Outbox.objects.filter(state=OutboxState.QUEUED, send_at__lte=now).order_by("send_at")
    for outbox_id in due.values_list("pk", flat=True)[:SWEEP_BATCH]:
        sent += outbox_deliver(outbox_id=outbox_id, now=now)
    return sent


def outbox_failed_to_draft(*, outbox: Outbox) -> Draft | None:
    """A failed send's draft, stored on the server again so it is not lost (the composer reopens it)."""
    draft = outbox.draft
    if draft is not None and draft.server_uid is None:
        draft_store_on_server(draft=draft)
    return draft
