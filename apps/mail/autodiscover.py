"""Finds the IMAP, submission and ManageSieve servers of an email address.

Sources, tried in order within one time budget, the first that names an IMAP server wins:

1. the instance defaults (settings.RUCHE_MAIL_DEFAULTS), when the address is in one of the
   organisation's domains — the admin's word, and no network needed;
2. RFC 6186 SRV records (`_imaps._tcp`, `_imap._tcp`, `_submissions._tcp`, `_submission._tcp`)
   and RFC 5804's `_sieve._tcp`;
3. Mozilla-style autoconfig, over HTTPS only, size-capped, parsed with defusedxml (no DTD, so
   no entity expansion and no external entities);
4. the usual host names (imap., mail., smtp.) probed by a TCP connect on the usual ports.

The DNS resolver, the HTTPS fetcher and the TCP prober are parameters, so tests point them at
a local server instead of the Internet.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from urllib.parse import quote, urljoin, urlsplit
from xml.etree.ElementTree import Element  # a type only: parsing goes through defusedxml

import dns.exception
import dns.resolver
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.tls import default_ssl_context

BUDGET_SECONDS = 6.0
AUTOCONFIG_MAX_BYTES = 64 * 1024
AUTOCONFIG_MAX_REDIRECTS = 3

SRV = "srv"
AUTOCONFIG = "autoconfig"
GUESS = "guess"
DEFAULTS = "defaults"
NOTHING = ""

SOURCE_LABELS = {
    SRV: gettext_lazy("Found in the DNS records (SRV) of your domain."),
    AUTOCONFIG: gettext_lazy("Found in the configuration your provider publishes (autoconfig)."),
    GUESS: gettext_lazy("Guessed from the usual server names: check them."),
    DEFAULTS: gettext_lazy("Your organisation's mail server."),
    NOTHING: gettext_lazy("No settings found: enter your provider's settings."),
}

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (apps.mail.models.Security)


@dataclass(frozen=True)
class Discovery:
    """What was found, and where. `username` is the login to try (the address unless told otherwise)."""

    source: str
    imap: Endpoint | None = None
    smtp: Endpoint | None = None
    sieve_port: int | None = None
    username: str = ""
    smtp_username: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        return self.imap is not None

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str  # "" when the record says "no such service here" (target ".")


class SrvResolver(Protocol):
    def srv(self, name: str, *, timeout: float) -> list[SrvRecord]:
        """The SRV records of `name`; [] when there are none or DNS does not answer."""


class Fetcher(Protocol):
    def get(self, url: str, *, timeout: float) -> bytes:
        """The body of a 200 answer; raises FetchError otherwise."""


TcpProber = Callable[[str, int, float], bool]


class FetchError(Exception):
    pass


# ---------------------------------------------------------------- default network seams
class DnsResolver:
    """SRV lookups through dnspython with the system's name servers."""

    def srv(self, name: str, *, timeout: float) -> list[SrvRecord]:
        try:
            answer = dns.resolver.resolve(name, "SRV", lifetime=max(timeout, 0.1))
        except (dns.exception.DNSException, OSError):
            return []
        records = []
        for rdata in answer:
            target = rdata.target.to_text(omit_final_dot=True).lower()
            records.append(
                SrvRecord(priority=rdata.priority, weight=rdata.weight, port=rdata.port, target=target.strip("."))
            )
        return records


class HttpsFetcher:
    """GET over HTTPS only, a few redirects (HTTPS only too), a size cap, one deadline.

    `connect_to` maps "host:port" to the address really dialled (like curl's --connect-to):
    the TLS name check still uses the URL's host. Tests use it to reach a local server.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        connect_to: dict[str, tuple[str, int]] | None = None,
        max_bytes: int = AUTOCONFIG_MAX_BYTES,
    ) -> None:
        self.ssl_context = ssl_context or default_ssl_context()
        self.connect_to = connect_to or {}
        self.max_bytes = max_bytes

    def get(self, url: str, *, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        for _hop in range(AUTOCONFIG_MAX_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise FetchError("not an https URL")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError("no answer in time")
            port = parts.port or 443
            connection = http.client.HTTPSConnection(parts.hostname, port, timeout=remaining, context=self.ssl_context)
            target = self.connect_to.get(f"{parts.hostname}:{port}")
            if target is not None:
                # http.client dials through this attribute; TLS still checks parts.hostname.
                connection._create_connection = lambda _address, *args, _t=target: socket.create_connection(  # type: ignore[attr-defined]
                    _t, *args
                )
            path = parts.path or "/"
            if parts.query:
                path += f"?{parts.query}"
            try:
                connection.request("GET", path, headers={"Accept": "application/xml, text/xml"})
                response = connection.getresponse()
                if response.status in (301, 302, 303, 307, 308):
                    location = response.getheader("Location") or ""
                    url = urljoin(url, location)
                    continue
                if response.status != 200:
                    raise FetchError(f"HTTP {response.status}")
                body = _read_capped(response, self.max_bytes, deadline)
            except (OSError, http.client.HTTPException) as exc:
                raise FetchError(str(exc) or exc.__class__.__name__) from None
            finally:
                connection.close()
            return body
        raise FetchError("too many redirects")


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError("answer too large")
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("no answer in time")
        chunk = response.read(8192)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("answer too large")
        chunks.append(chunk)


def tcp_probe(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=max(timeout, 0.1)):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- the search
def autodiscover(
    address: str,
    *,
    resolver: SrvResolver | None = None,
    fetcher: Fetcher | None = None,
    prober: TcpProber | None = None,
    budget: float = BUDGET_SECONDS,
) -> Discovery:
    """Settings for `address`, from the first source that names an IMAP server."""
    deadline = time.monotonic() + budget
    local_part, _sep, given_domain = address.strip().rpartition("@")
    ascii_domain = _ascii_domain(given_domain)
    if not local_part or ascii_domain is None:
        return Discovery(source=NOTHING, username=address, notes=(_("This is not an email address."),))
    domain = ascii_domain
    address = f"{local_part}@{domain}"
    notes: list[str] = []

    found = _from_defaults(domain)
    if found is None:
        sources: list[Callable[[], Discovery | None]] = [
            lambda: _from_srv(domain, resolver or DnsResolver(), deadline, notes),
            lambda: _from_autoconfig(address, domain, fetcher or HttpsFetcher(), deadline, notes),
            lambda: _from_usual_names(domain, prober or tcp_probe, deadline, notes),
        ]
        for source in sources:
            if time.monotonic() >= deadline:
                notes.append(_("The search took too long and was stopped."))
                break
            found = source()
            if found is not None:
                break
    if found is None:
        return Discovery(source=NOTHING, username=address, notes=tuple(notes))
    return replace(found, username=found.username or address, notes=tuple(notes))


def organisation_domains() -> set[str]:
    domains = [*getattr(settings, "RUCHE_MAIL_DOMAINS", []), *getattr(settings, "RUCHE_IMAP_LOGIN_DOMAINS", [])]
    return {d.strip().lower() for d in domains if d.strip()}


def _ascii_domain(domain: str) -> str | None:
    domain = domain.strip().rstrip(".").lower()
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return domain if _HOSTNAME.match(domain) and "." in domain else None


def _fill(template: str, address: str) -> str:
    local_part, _sep, domain = address.partition("@")
    return (
        template.replace("%EMAILADDRESS%", address)
        .replace("%EMAILLOCALPART%", local_part)
        .replace("%EMAILDOMAIN%", domain)
    )


def _from_defaults(domain: str) -> Discovery | None:
    defaults: dict[str, Any] = settings.RUCHE_MAIL_DEFAULTS
    if domain not in organisation_domains() or not defaults.get("imap_host"):
        return None
    imap_host = str(defaults["imap_host"])
    return Discovery(
        source=DEFAULTS,
        imap=Endpoint(imap_host, int(defaults["imap_port"]), str(defaults["imap_security"])),
        smtp=Endpoint(
            str(defaults.get("smtp_host") or imap_host), int(defaults["smtp_port"]), str(defaults["smtp_security"])
        ),
        sieve_port=int(defaults["sieve_port"]) if defaults.get("sieve_port") else None,
    )


def _from_srv(domain: str, resolver: SrvResolver, deadline: float, notes: list[str]) -> Discovery | None:
    names = {
        "imaps": ("tls", f"_imaps._tcp.{domain}"),
        "imap": ("starttls", f"_imap._tcp.{domain}"),
        "submissions": ("tls", f"_submissions._tcp.{domain}"),
        "submission": ("starttls", f"_submission._tcp.{domain}"),
        "sieve": ("starttls", f"_sieve._tcp.{domain}"),
    }
    timeout = max(deadline - time.monotonic(), 0.1)
    pool = ThreadPoolExecutor(max_workers=len(names))
    futures = {key: pool.submit(resolver.srv, name, timeout=timeout) for key, (_sec, name) in names.items()}
    wait(futures.values(), timeout=timeout)
    pool.shutdown(wait=False, cancel_futures=True)  # a lookup past the budget is not waited for
    answers = {key: (f.result() if f.done() and not f.exception() else []) for key, f in futures.items()}

    def best(*keys: str) -> Endpoint | None:
        # RFC 8314: implicit TLS first; then RFC 2782 order (lowest priority, highest weight).
        for key in keys:
            usable = [r for r in answers[key] if r.target and _HOSTNAME.match(r.target) and 0 < r.port < 65536]
            if usable:
                record = min(usable, key=lambda r: (r.priority, -r.weight))
                return Endpoint(record.target, record.port, names[key][0])
        return None

    imap = best("imaps", "imap")
    if imap is None:
        notes.append(_("No SRV records for mail in the DNS of %(domain)s.") % {"domain": domain})
        return None
    sieve = best("sieve")
    return Discovery(
        source=SRV, imap=imap, smtp=best("submissions", "submission"), sieve_port=sieve.port if sieve else None
    )


def _from_autoconfig(
    address: str, domain: str, fetcher: Fetcher, deadline: float, notes: list[str]
) -> Discovery | None:
    urls = [
        f"https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={quote(address, safe='@')}",
        f"https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml",
    ]
    for url in urls:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            body = fetcher.get(url, timeout=min(remaining, 3.0))
        except FetchError:
            continue
        try:
            found = parse_autoconfig(body, address=address)
        except AutoconfigRefusedError:
            notes.append(_("The autoconfig file at %(url)s was refused: it is not plain, safe XML.") % {"url": url})
            continue
        if found is not None:
            return found
    notes.append(_("No autoconfig file for %(domain)s.") % {"domain": domain})
    return None


class AutoconfigRefusedError(Exception):
    """The document is malformed, or uses a DTD/entities (billion laughs, external entities)."""


def parse_autoconfig(body: bytes, *, address: str) -> Discovery | None:
    """Reads a Mozilla config-v1.1 document; None when it names no usable IMAP server.

    Placeholders (%EMAILADDRESS%, %EMAILLOCALPART%, %EMAILDOMAIN%) are filled in for `address`.
    """
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as exc:
        raise AutoconfigRefusedError(str(exc)) from None
    provider = root.find("emailProvider")
    if provider is None:
        return None
    imap = _pick_server(provider.findall("incomingServer"), "imap", address)
    if imap is None:
        return None
    smtp = _pick_server(provider.findall("outgoingServer"), "smtp", address)
    return Discovery(
        source=AUTOCONFIG,
        imap=imap[0],
        smtp=smtp[0] if smtp else None,
        username=imap[1],
        smtp_username=smtp[1] if smtp else "",
    )


_SOCKET_TYPES = {"SSL": "tls", "STARTTLS": "starttls", "PLAIN": "none"}
_PASSWORD_AUTH = {"", "password-cleartext", "plain", "password-encrypted", "secure"}


def _pick_server(servers: Iterable[Element], kind: str, address: str) -> tuple[Endpoint, str] | None:
    """The first server of this kind that takes a password, encrypted ones first."""
    candidates = []
    for server in servers:
        if (server.get("type") or "").lower() != kind:
            continue
        host = _fill((server.findtext("hostname") or "").strip(), address).lower()
        port_text = (server.findtext("port") or "").strip()
        security = _SOCKET_TYPES.get((server.findtext("socketType") or "").strip().upper())
        auths = {(a.text or "").strip().lower() for a in server.findall("authentication")} or {""}
        if not host or not port_text.isdigit() or security is None or not auths & _PASSWORD_AUTH:
            continue
        port = int(port_text)
        if not 0 < port < 65536 or not _HOSTNAME.match(host):
            continue
        username = _fill((server.findtext("username") or "").strip(), address)
        candidates.append((security == "none", Endpoint(host, port, security), username))
    if not candidates:
        return None
    _plain, endpoint, username = min(candidates, key=lambda c: c[0])  # stable: document order otherwise
    return endpoint, username


def _from_usual_names(domain: str, prober: TcpProber, deadline: float, notes: list[str]) -> Discovery | None:
    imap_candidates = [
        Endpoint(f"{name}.{domain}", port, security)
        for name in ("imap", "mail")
        for port, security in ((993, "tls"), (143, "starttls"))
    ]
    smtp_candidates = [
        Endpoint(f"{name}.{domain}", port, security)
        for name in ("smtp", "mail")
        for port, security in ((465, "tls"), (587, "starttls"))
    ]
    timeout = max(deadline - time.monotonic(), 0.1)
    candidates = imap_candidates + smtp_candidates
    pool = ThreadPoolExecutor(max_workers=len(candidates))
    futures = [pool.submit(prober, c.host, c.port, timeout) for c in candidates]
    wait(futures, timeout=timeout)
    pool.shutdown(wait=False, cancel_futures=True)
    answering = {c for c, f in zip(candidates, futures, strict=True) if f.done() and not f.exception() and f.result()}
    imap = next((c for c in imap_candidates if c in answering), None)
    if imap is None:
        notes.append(_("No server answers at the usual names (imap.%(domain)s, mail.%(domain)s).") % {"domain": domain})
        return None
    smtp = next((c for c in smtp_candidates if c in answering), None)
    return Discovery(source=GUESS, imap=imap, smtp=smtp)
