"""Read receipts (RFC 8098 message disposition notifications) and the "received, thank you" reply.

A receipt is never sent on its own: the reader asks ("Send / Ignore"), and either answer sets the
`$MDNSent` keyword on the server (RFC 3503) so no device of the person asks again. The request is
read from the message's own header (Disposition-Notification-To) through apps.mail.bodies; the
index keeps no copy of it.
"""

from __future__ import annotations

import socket
from email.message import EmailMessage
from email.message import Message as EmailMessageBase
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesHeaderParser
from email.policy import SMTP
from email.utils import format_datetime, formataddr, formatdate, getaddresses, make_msgid

from django.db import transaction
from django.utils.translation import gettext as _

from apps.mail import bodies
from apps.mail.connections import imap_call
from apps.mail.events import publish_messages
from apps.mail.imap import ImapConnection
from apps.mail.models import Message
from apps.mail.smtp import SmtpSettings, smtp_send

MDN_SENT = "$MDNSent"


class ReceiptError(Exception):
    """A receipt or acknowledgement could not be built. The message is safe to show."""


def _headers(message: Message, raw: bytes | None = None) -> EmailMessageBase:
    if raw is None:
        raw = bodies.message_raw(message=message)
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return BytesHeaderParser().parsebytes(raw[: end if end >= 0 else len(raw)])


def _one_address(value: str | None) -> str:
    pairs = getaddresses([value or ""])
    address = pairs[0][1].strip() if pairs else ""
    return address if "@" in address and not any(c in address for c in '\r\n<>"') else ""


def receipt_requested(*, message: Message, raw: bytes | None = None) -> str:
    """The address asking for a read receipt, or "" (none asked, already answered, or our own message).

    `raw`: the message's bytes when the caller holds them already (the reader does), so opening a
    message does not fetch it a second time (from IMAP, for one too large for the cache).
    """
    if any(keyword.lower() == MDN_SENT.lower() for keyword in message.keywords):
        return ""
    if message.folder.role in ("sent", "drafts", "trash", "junk"):
        return ""
    try:
        headers = _headers(message, raw)
    except bodies.MessageUnavailableError:
        return ""
    address = _one_address(str(headers.get("Disposition-Notification-To", "")))
    if not address or address.lower() == message.account.email_address.lower():
        return ""
    return address


def _remember(message: Message, flags: tuple[str, ...]) -> None:
    """Sets flags on the server, then in the index, then tells open pages."""
    folder_name = message.folder.name

    def store(imap: ImapConnection) -> None:
        imap.add_flags(folder_name, [message.uid], flags)

    imap_call(message.account, store)
    with transaction.atomic():
        fresh = Message.objects.select_for_update().get(pk=message.pk)
        keywords = list(fresh.keywords)
        for flag in flags:
            if flag == "\\Answered":
                fresh.answered = True
            elif flag not in keywords:
                keywords.append(flag)
        fresh.keywords = keywords
        fresh.save(update_fields=["keywords", "answered"])
        message.keywords, message.answered = fresh.keywords, fresh.answered
        publish_messages(
            owner_id=message.account.owner_id,
            account_id=message.account_id,
            folder_id=message.folder_id,
            changed=[message.pk],
        )


def receipt_ignore(*, message: Message) -> None:
    """ "Ignore": no receipt, and never ask again for this message."""
    _remember(message, (MDN_SENT,))


def build_receipt(*, message: Message, recipient: str) -> bytes:
    """The multipart/report; report-type=disposition-notification message (RFC 8098 §3)."""
    account = message.account
    original = _headers(message)
    subject = str(original.get("Subject", "")).replace("\r", " ").replace("\n", " ").strip()
    report = MIMEMultipart("report", policy=SMTP)
    report.set_param("report-type", "disposition-notification")
    report["From"] = formataddr((account.display_name, account.email_address))
    report["To"] = recipient
    report["Subject"] = _("Read: %(subject)s") % {"subject": subject or _("(no subject)")}
    report["Date"] = formatdate(localtime=True)
    report["Message-ID"] = make_msgid(domain=account.email_address.rpartition("@")[2] or None)
    if message.message_id:
        report["References"] = f"<{message.message_id}>"
    report["Auto-Submitted"] = "auto-replied"
    sent = format_datetime(message.date) if message.date else _("an unknown date")
    human = _(
        "The message sent on %(date)s to %(to)s with the subject “%(subject)s” was displayed.\n\n"
        "This only means the message was shown on screen; it does not guarantee that it was read or understood.\n"
    ) % {"date": sent, "to": account.email_address, "subject": subject}
    report.attach(MIMEText(human, "plain", "utf-8", policy=SMTP))
    fields = [f"Reporting-UA: {socket.getfqdn() or 'localhost'}; Ruche"]
    original_recipient = str(original.get("Original-Recipient", "")).strip()
    if original_recipient and "\n" not in original_recipient:
        fields.append(f"Original-Recipient: {original_recipient}")
    fields.append(f"Final-Recipient: rfc822; {account.email_address}")
    if message.message_id:
        fields.append(f"Original-Message-ID: <{message.message_id}>")
    fields.append("Disposition: manual-action/MDN-sent-manually; displayed")
    notification = MIMEBase("message", "disposition-notification", policy=SMTP)
    notification.set_payload("\r\n".join(fields) + "\r\n")
    report.attach(notification)
    header_part = MIMEBase("text", "rfc822-headers", policy=SMTP)
    header_part.set_payload(original.as_string(policy=SMTP).split("\r\n\r\n", 1)[0] + "\r\n")
    report.attach(header_part)
    return report.as_bytes(policy=SMTP)


def receipt_send(*, message: Message) -> str:
    """Sends the read receipt the sender asked for, then remembers it ($MDNSent). Returns the address."""
    recipient = receipt_requested(message=message)
    if not recipient:
        raise ReceiptError(_("This message asks for no read receipt, or it was already answered."))
    account = message.account
    smtp_send(
        SmtpSettings.for_account(account),
        build_receipt(message=message, recipient=recipient),
        # An MDN goes out with an empty envelope sender would be ideal (RFC 8098 §2.1) but
        # submission servers demand the authenticated address.
        sender=account.email_address,
        recipients=[recipient],
    )
    _remember(message, (MDN_SENT,))
    return recipient


def acknowledge_send(*, message: Message) -> str:
    """A short "Received, thank you" reply in the active language; marks the message answered."""
    account = message.account
    original = _headers(message)
    recipient = _one_address(str(original.get("Reply-To", ""))) or _one_address(str(original.get("From", "")))
    if not recipient:
        raise ReceiptError(_("This message has no address to reply to."))
    subject = str(original.get("Subject", "")).replace("\r", " ").replace("\n", " ").strip()
    reply = EmailMessage()
    reply["From"] = formataddr((account.display_name, account.email_address))
    reply["To"] = recipient
    reply["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}".strip()
    reply["Date"] = formatdate(localtime=True)
    reply["Message-ID"] = make_msgid(domain=account.email_address.rpartition("@")[2] or None)
    if message.message_id:
        reply["In-Reply-To"] = f"<{message.message_id}>"
        references = [f"<{ref.strip('<>')}>" for ref in message.references.split()][-20:]
        reply["References"] = " ".join([*references, f"<{message.message_id}>"])
    reply.set_content(_("Received, thank you.") + "\n")
    smtp_send(SmtpSettings.for_account(account), reply.as_bytes(), sender=account.email_address, recipients=[recipient])
    _remember(message, ("\\Answered",))
    return recipient
