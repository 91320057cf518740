"""Demo mailbox content for `manage.py demo_setup`: a handful of realistic messages.

They cover what the webmail has to show well: a threaded conversation (In-Reply-To/References,
one reply in Sent), a newsletter with List-Unsubscribe, an HTML message with a text alternative,
an image attachment, and a French message whose subject is RFC 2047 encoded.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.utils import timezone

from apps.mail.imap import ImapConnection, ImapSettings
from apps.mail.models import MailAccount

SEEN = b"\\Seen"


@dataclass(frozen=True)
class DemoPerson:
    name: str
    address: str

    @property
    def header(self) -> Address:
        username, domain = self.address.split("@", 1)
        return Address(display_name=self.name, username=username, domain=domain)


@dataclass(frozen=True)
class DemoMessage:
    folder: str  # "inbox" or "sent"
    message: EmailMessage
    date: datetime
    flags: tuple[bytes, ...] = ()


def _message(
    *, sender: DemoPerson, to: DemoPerson, subject: str, date: datetime, domain: str, text: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender.header
    message["To"] = to.header
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    return message


def _reply(
    original: EmailMessage, *, sender: DemoPerson, to: DemoPerson, date: datetime, domain: str, text: str
) -> EmailMessage:
    subject = str(original["Subject"])
    reply = _message(
        sender=sender,
        to=to,
        subject=subject if subject.lower().startswith("re:") else f"Re: {subject}",
        date=date,
        domain=domain,
        text=text,
    )
    reply["In-Reply-To"] = original["Message-ID"]
    references = str(original.get("References", "")).split()
    reply["References"] = " ".join([*references, str(original["Message-ID"])])
    return reply


def _floor_plan_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 100), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, 155, 95), outline="black", width=2)
    draw.line((70, 4, 70, 95), fill="black", width=2)
    draw.line((70, 50, 155, 50), fill="black", width=2)
    draw.rectangle((14, 14, 60, 40), fill=(250, 200, 60))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def demo_messages(
    *, owner: DemoPerson, peers: Sequence[DemoPerson], domain: str, now: datetime | None = None
) -> list[DemoMessage]:
    """The messages of one demo mailbox; `peers` are two other demo people."""
    now = now or timezone.now()
    friend, colleague = peers[0], peers[1]
    first = owner.name.split()[0]
    items: list[DemoMessage] = []

    # A short conversation: friend → owner, owner's reply (in Sent), friend's answer.
    day = now - timedelta(days=3)
    question = _message(
        sender=friend,
        to=owner,
        subject="Lunch on Thursday?",
        date=day,
        domain=domain,
        text=f"Hi {first},\n\nShall we try the new place by the river on Thursday at 12:30?\n\n"
        f"{friend.name.split()[0]}\n",
    )
    answer = _reply(
        question,
        sender=owner,
        to=friend,
        date=day + timedelta(hours=2),
        domain=domain,
        text="Good idea! 12:30 works for me. I'll book a table for two.\n\n"
        f"> Shall we try the new place by the river on Thursday at 12:30?\n\n{first}\n",
    )
    confirmation = _reply(
        answer,
        sender=friend,
        to=owner,
        date=day + timedelta(hours=5),
        domain=domain,
        text="Perfect, see you there.\n\n> Good idea! 12:30 works for me.\n",
    )
    items += [
        DemoMessage("inbox", question, day, (SEEN,)),
        DemoMessage("sent", answer, day + timedelta(hours=2), (SEEN,)),
        DemoMessage("inbox", confirmation, day + timedelta(hours=5)),
    ]

    # A plain-text newsletter with the list headers a webmail offers "unsubscribe" from.
    news_date = now - timedelta(days=2, hours=4)
    newsletter = _message(
        sender=DemoPerson("Hive Weekly", "newsletter@news.example.org"),
        to=owner,
        subject="Hive Weekly #42: beekeeping in winter",
        date=news_date,
        domain="news.example.org",
        text="HIVE WEEKLY — issue 42\n\n"
        "1. Keeping colonies warm: insulation that works\n"
        "2. Reader question: how much honey to leave for winter?\n"
        "3. Events near you\n\n"
        "You receive this because you subscribed at news.example.org.\n"
        "Unsubscribe: https://news.example.org/unsubscribe\n",
    )
    newsletter["List-Id"] = "Hive Weekly <weekly.news.example.org>"
    newsletter["List-Unsubscribe"] = (
        "<mailto:unsubscribe@news.example.org?subject=unsubscribe>, <https://news.example.org/unsubscribe>"
    )
    newsletter["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    items.append(DemoMessage("inbox", newsletter, news_date))

    # HTML with a plain-text alternative.
    report_date = now - timedelta(days=1, hours=6)
    report = _message(
        sender=colleague,
        to=owner,
        subject="Quarterly numbers are in",
        date=report_date,
        domain=domain,
        text="Hi,\n\nThe quarter closed well:\n- Subscribers: 1,240 (+12%)\n- Support tickets: 86 (-9%)\n\n"
        "Details in the meeting.\n",
    )
    report.add_alternative(
        "<html><body><p>Hi,</p><p>The quarter closed <strong>well</strong>:</p>"
        "<table><tr><th>Metric</th><th>Value</th><th>Change</th></tr>"
        "<tr><td>Subscribers</td><td>1,240</td><td>+12%</td></tr>"
        "<tr><td>Support tickets</td><td>86</td><td>&minus;9%</td></tr></table>"
        "<p>Details in the meeting.</p></body></html>",
        subtype="html",
    )
    items.append(DemoMessage("inbox", report, report_date, (SEEN,)))

    # A small image attachment.
    plan_date = now - timedelta(hours=20)
    plan = _message(
        sender=friend,
        to=owner,
        subject="Floor plan of the new office",
        date=plan_date,
        domain=domain,
        text="Here is the plan. The yellow corner is ours!\n",
    )
    plan.add_attachment(_floor_plan_png(), maintype="image", subtype="png", filename="floor-plan.png")
    items.append(DemoMessage("inbox", plan, plan_date))

    # French, with accents in the subject (RFC 2047 encoded on the wire) and the body.
    meeting_date = now - timedelta(hours=3)
    meeting = _message(
        sender=DemoPerson("Camille Lefèvre", "camille.lefevre@example.org"),
        to=owner,
        subject="Réunion d'équipe : ordre du jour de vendredi",
        date=meeting_date,
        domain="example.org",
        text="Bonjour à tous,\n\nVoici l'ordre du jour de la réunion de vendredi :\n"
        "1. Bilan du trimestre\n2. Préparation de l'été\n3. Questions diverses\n\n"
        "Café et croissants prévus. À vendredi !\n\nCamille\n",
    )
    meeting["Content-Language"] = "fr"
    items.append(DemoMessage("inbox", meeting, meeting_date))
    return items


def demo_mailbox_seed(*, account: MailAccount, owner: DemoPerson, peers: Sequence[DemoPerson], domain: str) -> int:
    """Appends the demo messages when the INBOX is empty; returns how many were added (0: already seeded)."""
    with ImapConnection(ImapSettings.for_account(account)) as imap:
        if imap.message_count("INBOX") > 0:
            return 0
        sent = imap.folder_for_role("sent") or "Sent"
        items = demo_messages(owner=owner, peers=peers, domain=domain)
        for item in items:
            folder = sent if item.folder == "sent" else "INBOX"
            imap.append(folder, item.message, flags=item.flags, received_at=item.date)
    return len(items)
