"""Building outgoing messages: addresses checked, MIME made with the `email` package, replies and
forwards prepared (quote, subject, threading headers, recipients).

Nothing typed by a person reaches a header unchecked: addresses are parsed and re-serialised by
`email.headerregistry`, CR/LF in a subject is folded to a space, CR/LF anywhere else is refused,
and attachment names keep only their last path component (`mime.safe_filename`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from apps.mail.addresses import Address, parse_address_list
from apps.mail.mime import safe_filename
from apps.mail.sanitize import RemotePolicy, html_to_text, sanitize_html

# CRLF, 78-column folding of our headers; a forwarded original keeps its own header lines as they are.
SMTP_POLICY = policy.SMTP.clone(refold_source="none")
SIGNATURE_SEPARATOR = "-- "
REFERENCES_KEPT = 10  # the first (the thread's root) and the 9 latest: what threading needs
_PREFIXES = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|tr|sv|vs|antw|rif|r|res|enc|vb|doorst)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINES = re.compile(r"[\r\n]+")
_LOCAL_PART = re.compile(r"^[^\s\x00-\x1f\x7f()<>\[\]:;@\\,\"]+(?:\.[^\s\x00-\x1f\x7f()<>\[\]:;@\\,\".]+)*$")
_QUOTED_LOCAL = re.compile(r'^"(?:[^"\\\r\n]|\\.)*"$')
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_ATTACHMENT_WORDS = re.compile(
    r"\b(attach(?:ed|ment|ments)?|enclosed|ci-?joint(?:e|es|s)?|pi[eè]ces?[ -]jointes?|en pi[eè]ce jointe|"
    r"anbei|angeh[aä]ngt|im anhang|adjunt[oa]s?|allegat[oi])\b",
    re.IGNORECASE,
)


class ComposeError(ValueError):
    """The message cannot be built as asked; the text is for the person, in plain words."""


# ---------------------------------------------------------------- addresses
def _ascii_domain(domain: str) -> str:
    """An IDN domain in its ASCII (xn--) form; raises ComposeError when it is not a host name."""
    if domain.startswith("[") and domain.endswith("]"):
        return domain  # an address literal
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ComposeError(_("%(domain)s is not a valid domain.") % {"domain": domain}) from None
    labels = ascii_domain.rstrip(".").split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels) or len(ascii_domain) > 253:
        raise ComposeError(_("%(domain)s is not a valid domain.") % {"domain": domain})
    return ascii_domain


def check_address(address: str) -> str:
    """A single addr-spec → its sendable form (domain in ASCII); ComposeError in plain words."""
    address = address.strip()
    if _CONTROL.search(address) or "\r" in address or "\n" in address:
        raise ComposeError(_("An address cannot contain line breaks."))
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ComposeError(_("%(address)s is not a valid address.") % {"address": address or _("(empty)")})
    if not (_LOCAL_PART.match(local) or _QUOTED_LOCAL.match(local)) or len(local) > 64:
        raise ComposeError(_("%(address)s is not a valid address.") % {"address": address})
    try:
        return f"{local}@{_ascii_domain(domain)}"
    except ComposeError:
        raise ComposeError(_("%(address)s is not a valid address.") % {"address": address}) from None


def parse_recipients(value: str) -> list[Address]:
    """A To/Cc/Bcc field as typed (any RFC 5322 form: quoted names with commas, comments, groups,
    IDN domains) → checked addresses. Group names are dropped, their members kept."""
    if _CONTROL.search(value) or "\r" in value or "\n" in value:
        raise ComposeError(_("The recipients contain line breaks or other characters that are not allowed."))
    value = _NEWLINES.sub(" ", value)
    if ":" not in value:  # no group: ";" separates addresses as in Outlook
        value = _semicolons_to_commas(value)
    found: list[Address] = []
    for entry in parse_address_list(value):
        if not entry.address:
            if entry.name and ":" not in value:  # a name without an address: a typo, not a group
                raise ComposeError(_("%(name)s is not a valid address.") % {"name": entry.name})
            continue
        found.append(Address(_NEWLINES.sub(" ", entry.name).strip(), check_address(entry.address)))
    return found


def _semicolons_to_commas(value: str) -> str:
    out, quoted, escaped = [], False, False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        out.append("," if ch == ";" and not quoted else ch)
    return "".join(out)


def format_addresses(addresses: Iterable[Address]) -> str:
    """Addresses as an editable field value (what the chips hold)."""
    return ", ".join(str(_header_address(a)) for a in addresses)


def _header_address(address: Address) -> HeaderAddress:
    local, _at, domain = address.address.rpartition("@")
    try:
        return HeaderAddress(display_name=address.name, username=local.strip('"'), domain=domain)
    except (ValueError, IndexError):
        raise ComposeError(_("%(address)s is not a valid address.") % {"address": address.address}) from None


def _clean_text(value: str) -> str:
    """A one-line header value typed by a person: line breaks folded to a space, controls gone."""
    return _CONTROL.sub("", _NEWLINES.sub(" ", value)).strip()


def _message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value or "")


# ---------------------------------------------------------------- building
@dataclass
class OutgoingAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Outgoing:
    """What the composer holds, as the builder needs it."""

    sender: Address
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    subject: str = ""
    text: str = ""
    html: str = ""  # as typed in the editor; sanitised here
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    request_receipt: bool = False
    attachments: list[OutgoingAttachment] = field(default_factory=list)
    forwarded_raw: bytes | None = None  # the original, attached as message/rfc822
    forwarded_name: str = "message.eml"
    date: datetime | None = None

    @property
    def envelope_recipients(self) -> list[str]:
        seen: dict[str, None] = {}
        for address in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(address.address, None)
        return list(seen)


def new_message_id(sender: str) -> str:
    domain = sender.rpartition("@")[2] or "ruche.invalid"
    return make_msgid(domain=_ascii_domain(domain) if domain != "ruche.invalid" else domain)


def clean_html(source: str) -> str:
    """The editor's HTML with the reader's allow-list (apps.mail.sanitize): nothing active goes out."""
    return sanitize_html(source, cid_url=None, remote=RemotePolicy.BLOCK).html


def build_message(outgoing: Outgoing, *, draft: bool = False) -> EmailMessage:
    """The MIME message (Bcc never in the headers, except in a draft kept for the person)."""
    message = EmailMessage(policy=SMTP_POLICY)
    try:
        message["From"] = _header_address(outgoing.sender)
        if outgoing.to:
            message["To"] = [_header_address(a) for a in outgoing.to]
        if outgoing.cc:
            message["Cc"] = [_header_address(a) for a in outgoing.cc]
        if draft and outgoing.bcc:
            message["Bcc"] = [_header_address(a) for a in outgoing.bcc]
        if outgoing.reply_to:
            message["Reply-To"] = [_header_address(a) for a in outgoing.reply_to]
        message["Subject"] = _clean_text(outgoing.subject)
        message["Date"] = format_datetime(outgoing.date or timezone.now())
        message["Message-ID"] = outgoing.message_id or new_message_id(outgoing.sender.address)
        parents = _message_ids(outgoing.in_reply_to)
        if parents:
            message["In-Reply-To"] = parents[0]
        references = trim_references(_message_ids(outgoing.references))
        if references:
            message["References"] = " ".join(references)
        if outgoing.request_receipt:
            message["Disposition-Notification-To"] = f"<{outgoing.sender.address}>"
        message["MIME-Version"] = "1.0"
        message["User-Agent"] = "Ruche"
    except ValueError as exc:  # the email package refuses CR/LF and malformed values
        raise ComposeError(_("A header could not be written: %(reason)s") % {"reason": exc}) from None
    text = outgoing.text.replace("\r\n", "\n")
    if outgoing.html:
        html = clean_html(outgoing.html)
        message.set_content(text or html_to_text(html), subtype="plain", charset="utf-8", cte=_cte(text))
        message.add_alternative(_html_document(html), subtype="html", charset="utf-8", cte="quoted-printable")
    else:
        message.set_content(text, subtype="plain", charset="utf-8", cte=_cte(text))
    _add_attachments(message, outgoing.attachments)
    if outgoing.forwarded_raw is not None:
        _attach_message(message, outgoing.forwarded_raw, safe_filename(outgoing.forwarded_name))
    return message


def _add_attachments(message: EmailMessage, attachments: Sequence[OutgoingAttachment]) -> None:
    for attachment in attachments:
        maintype, _slash, subtype = attachment.content_type.partition("/")
        if not re.fullmatch(r"[\w.+-]+", maintype) or not re.fullmatch(r"[\w.+-]+", subtype or ""):
            maintype, subtype = "application", "octet-stream"
        if maintype in {"message", "multipart"}:
            maintype, subtype = "application", "octet-stream"  # never nest what we cannot vouch for
        name = safe_filename(attachment.filename, content_type=attachment.content_type)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=name)


def _cte(text: str) -> str:
    # 7-bit everywhere: no dependence on the server's 8BITMIME, and long lines stay legal.
    return "7bit" if text.isascii() and all(len(line) <= 900 for line in text.split("\n")) else "quoted-printable"


def _attach_message(message: EmailMessage, raw: bytes, filename: str) -> None:
    """The original message attached as message/rfc822, its bytes untouched."""
    import email

    inner = email.message_from_bytes(raw, policy=policy.compat32)
    if message.get_content_type() != "multipart/mixed":
        message.make_mixed()
    part = EmailMessage(policy=SMTP_POLICY)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = "attachment"
    part.set_param("filename", filename, header="Content-Disposition")
    part.set_payload([inner])
    message.attach(part)


def _html_document(body: str) -> str:
    return f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>{body}</body></html>\n'


def message_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=SMTP_POLICY)


def trim_references(ids: Sequence[str]) -> list[str]:
    """Keeps the root and the latest ids (RFC 5322 §3.6.4 allows trimming); no duplicates."""
    unique = list(dict.fromkeys(ids))
    if len(unique) <= REFERENCES_KEPT:
        return unique
    return [unique[0], *unique[-(REFERENCES_KEPT - 1) :]]


# ---------------------------------------------------------------- replies and forwards
def base_subject(subject: str) -> str:
    """The subject without stacked "Re:", "Fwd:", "AW:", "TR:", "RE[2]:"… prefixes."""
    return _PREFIXES.sub("", subject or "").strip()


def reply_subject(subject: str) -> str:
    return f"Re: {base_subject(subject)}".rstrip()


def forward_subject(subject: str) -> str:
    return f"Fwd: {base_subject(subject)}".rstrip()


def attribution(date: datetime | None, name: str) -> str:
    if date is None:
        return _("%(name)s wrote:") % {"name": name}
    local = timezone.localtime(date) if timezone.is_aware(date) else date
    when = formats.date_format(local, "DATETIME_FORMAT")
    return _("On %(date)s, %(name)s wrote:") % {"date": when, "name": name}


def quote_text(text: str) -> str:
    """Every line prefixed with "> " (already quoted lines get ">" so depth stays readable)."""
    lines = text.replace("\r\n", "\n").strip("\n").split("\n")
    # A quoted signature is noise in a reply: cut at the separator.
    if SIGNATURE_SEPARATOR in lines:
        lines = lines[: lines.index(SIGNATURE_SEPARATOR)]
    return "\n".join((">" + line) if line.startswith(">") else ("> " + line if line else ">") for line in lines)


def reply_body(*, quoted: str, date: datetime | None, name: str, signature: str = "") -> str:
    """The reply's text: an empty line where the cursor goes, then the attribution and the quote
    BELOW it, then the signature."""
    body = f"\n\n{attribution(date, name)}\n{quote_text(quoted)}\n"
    return body + signature_block(signature)


def signature_block(signature: str) -> str:
    signature = signature.replace("\r\n", "\n").strip("\n")
    return f"\n{SIGNATURE_SEPARATOR}\n{signature}\n" if signature else ""


def forward_body(
    *, text: str, subject: str, sender: str, date: datetime | None, to: str, cc: str = "", signature: str = ""
) -> str:
    when = formats.date_format(timezone.localtime(date), "DATETIME_FORMAT") if date else ""
    lines = [
        "",
        "",
        _("---------- Forwarded message ----------"),
        _("From: %(value)s") % {"value": sender},
        _("Date: %(value)s") % {"value": when},
        _("Subject: %(value)s") % {"value": subject},
        _("To: %(value)s") % {"value": to},
    ]
    if cc:
        lines.append(_("Cc: %(value)s") % {"value": cc})
    return "\n".join(lines) + "\n\n" + text.replace("\r\n", "\n").strip("\n") + "\n" + signature_block(signature)


def reply_recipients(
    *,
    sender: Sequence[Address],
    reply_to: Sequence[Address],
    to: Sequence[Address],
    cc: Sequence[Address],
    mine: Iterable[str],
    reply_all: bool,
) -> tuple[list[Address], list[Address]]:
    """(To, Cc) of a reply: Reply-To (else From); for reply all, plus the original To and Cc,
    minus my own addresses and duplicates. A reply to my own message goes to its recipients."""
    own = {address.lower() for address in mine}
    first = list(reply_to or sender)
    if all(a.address.lower() in own for a in first) and to:
        first = list(to)  # replying to something I sent: write to the people I wrote to
    seen: set[str] = set()

    def keep(addresses: Iterable[Address]) -> list[Address]:
        kept = []
        for address in addresses:
            lowered = address.address.lower()
            if not lowered or lowered in own or lowered in seen:
                continue
            seen.add(lowered)
            kept.append(address)
        return kept

    reply_to_list = keep(first)
    if not reply_all:
        return reply_to_list, []
    return reply_to_list + keep(to), keep(cc)


def references_for_reply(*, message_id: str, references: str, in_reply_to: str) -> str:
    chain = _message_ids(references) or _message_ids(in_reply_to)
    return " ".join(trim_references([*chain, *_message_ids(message_id)]))


# ---------------------------------------------------------------- sizes and etiquette
def encoded_size(size: int) -> int:
    """The size an attachment takes in the message: base64 is 4/3, plus a CRLF every 76 characters."""
    base64_chars = (size + 2) // 3 * 4
    return base64_chars + base64_chars // 76 * 2


def max_message_bytes(server_limit: int | None) -> int:
    configured = int(settings.RUCHE_MAIL_MAX_MESSAGE_MB * 1_000_000)
    return min(configured, server_limit) if server_limit else configured


def mentions_attachment(text: str) -> bool:
    """Words announcing an attachment, in the person's own text (quoted lines do not count)."""
    own = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(">"))
    own = own.split(f"\n{SIGNATURE_SEPARATOR}\n", 1)[0]
    return bool(_ATTACHMENT_WORDS.search(own))


def own_text(text: str) -> str:
    """What the person wrote: quotes, the forwarded part and the signature left out."""
    marker = _("---------- Forwarded message ----------")
    text = text.split(marker, 1)[0].split("---------- Forwarded message ----------", 1)[0]
    text = text.split(f"\n{SIGNATURE_SEPARATOR}\n", 1)[0]
    lines = [line for line in text.split("\n") if not line.lstrip().startswith(">")]
    return "\n".join(lines).strip()
