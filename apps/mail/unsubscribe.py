"""Unsubscribing from a mailing list the way its List-Unsubscribe header offers (RFC 2369, RFC 8058).

Three ways, best first:
- one click (RFC 8058): a POST of `List-Unsubscribe=One-Click` to the list's web address, when
  the message also carries `List-Unsubscribe-Post`. Ruche makes the request itself, with no
  cookie, no credentials, a short deadline, and the SSRF guards of the image proxy
  (apps.mail.proxy): every resolved address must be public and the connection goes to the
  vetted address. A redirect answer is taken as "received" and never followed;
- mail: a message to the list's `mailto:` address, sent through the account's SMTP server;
- a web page: only shown as a link the person opens after a confirmation (never fetched here).
"""

from __future__ import annotations

import http.client
import re
import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from urllib.parse import parse_qs, quote, unquote, urlsplit

from django.utils.translation import gettext as _

from apps.mail import proxy
from apps.mail.models import Message
from apps.mail.smtp import SmtpSettings, smtp_send

TIMEOUT = 5.0
DEADLINE = 10.0
MAX_RESPONSE = 64 * 1024
ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
# Addresses exempt from the public-address rule: tests put a loopback address here to reach a
# local server; production code never changes it.
ALLOW_ADDRESSES: frozenset[proxy.IPAddress] = frozenset()
_URI = re.compile(r"<([^<>\s]{1,2000})>")
_ADDRESS = re.compile(r"[^@\s\"<>,;:()\\\[\]]{1,64}@[A-Za-z0-9.\-\[\]:]{1,255}")


class UnsubscribeError(Exception):
    """Unsubscribing failed. The message is safe to show."""


@dataclass(frozen=True)
class UnsubscribeMethods:
    one_click_url: str = ""  # POSTed by Ruche (List-Unsubscribe-Post present)
    mailto: str = ""  # a mailto: URI
    web_url: str = ""  # a page the person opens themselves

    @property
    def any(self) -> bool:
        return bool(self.one_click_url or self.mailto or self.web_url)

    @property
    def web_host(self) -> str:
        return urlsplit(self.web_url).hostname or ""


def unsubscribe_methods(message: Message) -> UnsubscribeMethods:
    """What the message's List-Unsubscribe header offers (the first of each kind)."""
    web = mailto = ""
    for uri in _URI.findall(message.list_unsubscribe or ""):
        scheme = uri.split(":", 1)[0].lower()
        if scheme in ("https", "http") and not web:
            web = uri
        elif scheme == "mailto" and not mailto:
            mailto = uri
    one_click = web if web and message.list_unsubscribe_post else ""
    return UnsubscribeMethods(one_click_url=one_click, mailto=mailto, web_url="" if one_click else web)


# ---------------------------------------------------------------- one click
def unsubscribe_one_click(*, message: Message) -> None:
    """POSTs the RFC 8058 one-click request. Raises UnsubscribeError in plain words."""
    url = unsubscribe_methods(message).one_click_url
    if not url:
        raise UnsubscribeError(_("This message offers no one-click unsubscribe."))
    post_one_click(url, allow_addresses=ALLOW_ADDRESSES)


def post_one_click(
    url: str, *, allow_addresses: Collection[proxy.IPAddress] = (), timeout: float = TIMEOUT, deadline: float = DEADLINE
) -> int:
    """The POST itself; returns the HTTP status (2xx, or 3xx: received, redirect not followed)."""
    scheme, ascii_host, port, path = _target(url)
    try:
        addresses = proxy._vetted_addresses(ascii_host, port, allow_addresses)  # the shared SSRF guard
    except proxy.RemoteContentRefused as exc:
        if exc.code == "address":
            raise UnsubscribeError(
                _("The list's server is on a private or reserved network address; Ruche does not go there.")
            ) from None
        raise UnsubscribeError(_("The list's server name could not be resolved.")) from None
    ends_at = time.monotonic() + deadline
    connection_class = proxy._PinnedHTTPSConnection if scheme == "https" else proxy._PinnedHTTPConnection
    connection = connection_class(ascii_host, port, address=addresses[0], timeout=timeout)
    try:
        # Nothing that identifies the person: no cookie, no authorisation, no referrer.
        connection.request(
            "POST",
            path,
            body=ONE_CLICK_BODY,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "Ruche unsubscribe",
                "Accept-Encoding": "identity",
            },
        )
        response = connection.getresponse()
        status = response.status
        received = 0
        while received < MAX_RESPONSE and time.monotonic() < ends_at:
            chunk = response.read1(8192)
            if not chunk:
                break
            received += len(chunk)
    except TimeoutError:
        raise UnsubscribeError(_("The list's server did not answer in time.")) from None
    except ssl.SSLError:
        raise UnsubscribeError(_("The list's server's secure connection failed.")) from None
    except (OSError, http.client.HTTPException):
        raise UnsubscribeError(_("The list's server could not be reached.")) from None
    finally:
        connection.close()
    if not 200 <= status < 400:
        raise UnsubscribeError(
            _("The list's server refused the request (HTTP %(status)s). Try its web page instead.") % {"status": status}
        )
    return status


def _target(url: str) -> tuple[str, str, int, str]:
    """(scheme, ASCII host, port, request path) of a web address, or UnsubscribeError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsubscribeError(_("The unsubscribe address is not valid.")) from None
    if scheme not in ("http", "https") or not host:
        raise UnsubscribeError(_("The unsubscribe address is not a web address."))
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise UnsubscribeError(_("The unsubscribe address is not valid.")) from None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return scheme, ascii_host, port, path


# ---------------------------------------------------------------- mail
@dataclass(frozen=True)
class MailtoRequest:
    address: str
    subject: str
    body: str


def parse_mailto(uri: str) -> MailtoRequest:
    """The address, subject and body of a mailto: URI; one plain address only, every line break removed."""
    if not uri.lower().startswith("mailto:"):
        raise UnsubscribeError(_("The unsubscribe address is not a mail address."))
    rest = uri[len("mailto:") :]
    target, _sep, query = rest.partition("?")
    address = unquote(target).strip()
    if not _ADDRESS.fullmatch(address):
        raise UnsubscribeError(_("The list's unsubscribe address is not a valid address."))
    fields = {key.lower(): values[0] for key, values in parse_qs(query, max_num_fields=20).items() if values}
    subject = re.sub(r"[\r\n\x00]+", " ", fields.get("subject", "")).strip()[:200] or "unsubscribe"
    body = fields.get("body", "").replace("\x00", "")[:2000] or "unsubscribe"
    return MailtoRequest(address=address, subject=subject, body=body)


def unsubscribe_by_mail(*, message: Message) -> str:
    """Sends the list's unsubscribe message through the account's SMTP server; returns the address."""
    uri = unsubscribe_methods(message).mailto
    if not uri:
        raise UnsubscribeError(_("This message offers no unsubscribe address."))
    request = parse_mailto(uri)
    account = message.account
    mail = EmailMessage()
    mail["From"] = formataddr((account.display_name, account.email_address))
    mail["To"] = request.address
    mail["Subject"] = request.subject
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=account.email_address.rpartition("@")[2] or None)
    mail.set_content(request.body)
    smtp_send(
        SmtpSettings.for_account(account),
        mail.as_bytes(),
        sender=account.email_address,
        recipients=[request.address],
    )
    return request.address
