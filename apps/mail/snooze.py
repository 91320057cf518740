"""Snooze: a message leaves the Inbox until a chosen time, then comes back unread.

It leaves ON THE SERVER (moved to a "Snoozed" folder, created when first needed), so every other
mail program sees it gone too. A `Snooze` row remembers when it comes back; a Celery task with
an ETA wakes it, and beat's sweep wakes any snooze whose time has passed (a lost task, a worker
restart, a broker flushed). Waking is idempotent: the row's state changes under
select_for_update, and the message is looked up by its Message-ID in the Snoozed folder, so a
retry after a crash finds nothing left to move instead of moving twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.mail.connections import imap_call
from apps.mail.imap import ImapConnection, ImapError, ImapFolderError
from apps.mail.models import Folder, FolderRole, MailAccount, Message, Snooze, SnoozeState
from apps.mail.organise import OrganiseError, folder_ensure, folders_follow, role_folder

log = logging.getLogger(__name__)

SNOOZED_FOLDER = "Snoozed"
SWEEP_BATCH = 200
MORNING = time(8, 0)


@dataclass(frozen=True)
class SnoozeChoice:
    key: str
    label: str
    at: datetime


_LABELS = {
    "later": gettext_lazy("Later today"),
    "tomorrow": gettext_lazy("Tomorrow morning"),
    "next_week": gettext_lazy("Next week"),
}


def snooze_choices(*, now: datetime | None = None) -> list[SnoozeChoice]:
    """The usual times, in the current (the user's) time zone: later today (in 3 hours, or 18:00
    when that is later), tomorrow at 8:00, next Monday at 8:00."""
    zone = timezone.get_current_timezone()
    local = (now or timezone.now()).astimezone(zone)
    later = local + timedelta(hours=3)
    evening = local.replace(hour=18, minute=0, second=0, microsecond=0)
    if evening > later and evening.date() == local.date():
        later = evening
    later = later.replace(second=0, microsecond=0)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), MORNING, tzinfo=zone)
    monday = datetime.combine(local.date() + timedelta(days=7 - local.weekday()), MORNING, tzinfo=zone)
    choices = [SnoozeChoice("tomorrow", str(_LABELS["tomorrow"]), tomorrow)]
    if later.date() == local.date():
        choices.insert(0, SnoozeChoice("later", str(_LABELS["later"]), later))
    choices.append(SnoozeChoice("next_week", str(_LABELS["next_week"]), monday))
    return choices


def snooze_time(*, choice: str, custom: str = "", now: datetime | None = None) -> datetime:
    """The wake time a form asked for: a choice key, or "custom" with a local date-time
    ("2026-12-01T09:30", the user's time zone). Raises OrganiseError in plain words."""
    now = now or timezone.now()
    if choice == "custom":
        try:
            naive = datetime.fromisoformat(custom.strip())
        except ValueError:
            raise OrganiseError(_("Choose a date and a time.")) from None
        if naive.tzinfo is not None:
            raise OrganiseError(_("Choose a date and a time."))
        wanted = timezone.make_aware(naive, timezone.get_current_timezone())
    else:
        found = next((c.at for c in snooze_choices(now=now) if c.key == choice), None)
        if found is None:
            raise OrganiseError(_("Choose when the message should come back."))
        wanted = found
    if wanted <= now:
        raise OrganiseError(_("Choose a time in the future."))
    if wanted > now + timedelta(days=5 * 366):
        raise OrganiseError(_("Choose a time within the next five years."))
    return wanted


def message_snooze(*, message: Message, wake_at: datetime, flag_on_wake: bool = False) -> Snooze:
    """Moves the message to the Snoozed folder on the server and schedules its return."""
    from apps.mail.tasks import snooze_wake_task  # late: tasks import this module

    account = message.account
    source = message.folder
    if source.name == SNOOZED_FOLDER:
        raise OrganiseError(_("This message is already snoozed."))
    snoozed = folder_ensure(account=account, name=SNOOZED_FOLDER)

    def move(imap: ImapConnection) -> tuple[dict[int, int], bool]:
        return imap.move(source.name, [message.uid], snoozed.name), imap.has("UIDPLUS")

    try:
        mapping, knows = imap_call(account, move)
    except ImapError as exc:
        raise OrganiseError(_("The mail server refused: %(reason)s") % {"reason": exc}) from None
    if knows and message.uid not in mapping:
        folders_follow([source])
        raise OrganiseError(_("This message is no longer there: another mail program moved or deleted it."))
    with transaction.atomic():
        snooze = Snooze.objects.create(
            account=account,
            message_id_header=message.message_id,
            folder=snoozed,
            uid=mapping.get(message.uid),
            subject=message.subject,
            sender=message.from_name or message.from_address,
            wake_at=wake_at,
            flag_on_wake=flag_on_wake,
        )
        snooze_id = snooze.pk
        transaction.on_commit(lambda: snooze_wake_task.apply_async((snooze_id,), eta=wake_at), robust=True)
    folders_follow([source, snoozed])
    return snooze


def snooze_wake(*, snooze_id: int) -> bool:
    """Brings a snoozed message back to the Inbox, unread (and flagged if asked). Idempotent:
    True when this call woke it, False when it was already awake. Raises ImapError (retry later)."""
    touched: list[Folder] = []
    with transaction.atomic():
        snooze = Snooze.objects.select_for_update().filter(pk=snooze_id).first()
        if snooze is None or snooze.state != SnoozeState.SNOOZED:
            return False
        account = MailAccount.objects.get(pk=snooze.account_id)
        inbox = role_folder(account=account, role=FolderRole.INBOX)
        folder_name = snooze.folder.name if snooze.folder is not None else SNOOZED_FOLDER
        imap_call(account, lambda imap: _move_back(imap, snooze, folder_name, inbox.name))
        snooze.state = SnoozeState.WOKEN
        snooze.save(update_fields=["state", "updated_at"])
        touched = [inbox] + ([snooze.folder] if snooze.folder is not None else [])
    folders_follow(touched)
    return True


def _move_back(imap: ImapConnection, snooze: Snooze, folder: str, inbox: str) -> None:
    try:
        if snooze.message_id_header:
            uids = imap.uids_with_message_id(folder, snooze.message_id_header)
        else:
            uids = [uid for uid in imap.folder_uids(folder) if uid == snooze.uid]
    except ImapFolderError:
        log.info("snooze %s: the folder %r is gone from the server", snooze.pk, folder)
        return
    if not uids:
        return  # already back (a retry), or moved by another mail program: nothing to do
    imap.remove_flags(folder, uids, ("\\Seen",))  # flags travel with the move
    if snooze.flag_on_wake:
        imap.add_flags(folder, uids, ("\\Flagged",))
    imap.move(folder, uids, inbox)


def snoozes_wake_due(*, now: datetime | None = None) -> int:
    """Wakes every snooze whose time has passed (beat's sweep); returns how many woke."""
    due = Snooze.objects.filter(state=SnoozeState.SNOOZED, wake_at__lte=now or timezone.now())
    woken = 0
    for snooze_id in due.order_by("wake_at").values_list("pk", flat=True)[:SWEEP_BATCH]:
        try:
            woken += snooze_wake(snooze_id=snooze_id)
        except ImapError as exc:
            log.info("snooze %s could not wake yet: %s", snooze_id, exc)
    return woken
