"""The connection test: says in plain words which step failed (DNS, TCP, TLS, STARTTLS, login).

Each check walks the layers in order with its own socket (name lookup, TCP connect, TLS
handshake or greeting), then hands over to the protocol adapter (`imap`, `smtp`, `sieve`) for
the protocol itself. The first layer that fails names the problem, so "wrong port" is not
reported as "wrong password". Nothing here logs or returns a password.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from apps.core.tls import default_ssl_context
from apps.mail.imap import ImapConnection, ImapConnectionError, ImapError, ImapLoginError, ImapSettings
from apps.mail.sieve import SieveError, SieveProtocolError, sieve_check
from apps.mail.smtp import (
    SmtpAuthUnavailableError,
    SmtpError,
    SmtpLoginError,
    SmtpSettings,
    SmtpStartTlsMissingError,
    smtp_check_login,
)

CONNECT_TIMEOUT = 10.0
GREETING_TIMEOUT = 5.0

# Problem codes, stable for tests and templates.
DNS = "dns"
REFUSED = "refused"
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
TLS = "tls"
CERTIFICATE = "certificate"
NO_GREETING = "no_greeting"
STARTTLS = "starttls"
AUTH = "auth"
AUTH_UNAVAILABLE = "auth_unavailable"
PROTOCOL = "protocol"

# Errors OpenSSL reports when the other side answers in plain text to our TLS hello.
_NOT_TLS_REASONS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}


@dataclass(frozen=True)
class CheckOutcome:
    service: str  # "imap", "smtp", "sieve"
    ok: bool
    problem: str = ""  # one of the codes above, "" when ok
    message: str = ""  # plain words for the user

    @property
    def service_label(self) -> str:
        return {"imap": _("Incoming mail (IMAP)"), "smtp": _("Sending (SMTP)"), "sieve": _("Filters (ManageSieve)")}[
            self.service
        ]


def check_imap(
    settings: ImapSettings, *, timeout: float = CONNECT_TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> CheckOutcome:
    problem = _reach("imap", settings.host, settings.port, settings.security, timeout, ssl_context)
    if problem is not None:
        return problem
    try:
        with ImapConnection(
            settings, connect_timeout=timeout, read_timeout=timeout * 2, ssl_context=ssl_context
        ) as imap:
            imap.capabilities()
    except ImapLoginError:
        return _fail("imap", AUTH, _auth_words())
    except ImapConnectionError as exc:
        return _from_adapter_error("imap", settings.host, settings.port, exc)
    except ImapError as exc:
        return _fail("imap", PROTOCOL, str(exc))
    return CheckOutcome("imap", ok=True)


def check_smtp(
    settings: SmtpSettings, *, timeout: float = CONNECT_TIMEOUT, ssl_context: ssl.SSLContext | None = None
) -> CheckOutcome:
    problem = _reach("smtp", settings.host, settings.port, settings.security, timeout, ssl_context)
    if problem is not None:
        return problem
    try:
        smtp_check_login(settings, timeout=timeout, ssl_context=ssl_context)
    except SmtpLoginError:
        return _fail("smtp", AUTH, _auth_words())
    except SmtpStartTlsMissingError:
        return _starttls_missing("smtp", settings.host, settings.port)
    except SmtpAuthUnavailableError:
        return _fail(
            "smtp",
            AUTH_UNAVAILABLE,
            _(
                "%(where)s accepts mail but offers no login on this connection. Sending needs the "
                "submission port (usually 587 with STARTTLS, or 465 with TLS)."
            )
            % {"where": f"{settings.host}:{settings.port}"},
        )
    except SmtpError as exc:
        return _from_adapter_error("smtp", settings.host, settings.port, exc)
    return CheckOutcome("smtp", ok=True)


def check_sieve(host: str, port: int, *, timeout: float = CONNECT_TIMEOUT) -> CheckOutcome:
    """ManageSieve always starts in plain text (STARTTLS comes after the greeting)."""
    problem = _reach("sieve", host, port, "starttls", timeout, None)
    if problem is not None:
        return problem
    try:
        sieve_check(host, port, timeout=timeout)
    except SieveProtocolError:
        return _fail(
            "sieve",
            PROTOCOL,
            _("%(where)s answers, but it is not a ManageSieve server. Check the port (usually 4190).")
            % {"where": f"{host}:{port}"},
        )
    except SieveError as exc:
        return _fail("sieve", PROTOCOL, str(exc))
    return CheckOutcome("sieve", ok=True)


# ---------------------------------------------------------------- layers below the protocol
def _reach(  # noqa: PLR0917  (private, called in three places with the same order)
    service: str, host: str, port: int, security: str, timeout: float, ssl_context: ssl.SSLContext | None
) -> CheckOutcome | None:
    """DNS, TCP, then the TLS handshake (implicit TLS) or the greeting (plain start)."""
    sock_or_problem = _open_socket(service, host, port, timeout)
    if isinstance(sock_or_problem, CheckOutcome):
        return sock_or_problem
    sock = sock_or_problem
    try:
        if security == "tls":
            return _handshake(service, host, port, sock, ssl_context)
        return _greeting(service, host, port, sock, timeout)
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def _open_socket(service: str, host: str, port: int, timeout: float) -> socket.socket | CheckOutcome:
    where = f"{host}:{port}"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return _fail(
            service,
            DNS,
            _("The server name “%(host)s” does not resolve (DNS): check its spelling.") % {"host": host},
        )
    try:
        return _connect(addresses, timeout)
    except ConnectionRefusedError:
        return _fail(
            service,
            REFUSED,
            _("%(where)s refused the connection: no mail service listens on this port. Check the port.")
            % {"where": where},
        )
    except TimeoutError:
        return _fail(
            service,
            TIMEOUT,
            _(
                "No answer from %(where)s within %(seconds)d seconds: the port may be wrong, or a "
                "firewall drops the connection."
            )
            % {"where": where, "seconds": timeout},
        )
    except OSError as exc:
        return _fail(
            service,
            UNREACHABLE,
            _("Cannot reach %(where)s: %(reason)s.") % {"where": where, "reason": exc.strerror or exc},
        )


def _handshake(
    service: str, host: str, port: int, sock: socket.socket, ssl_context: ssl.SSLContext | None
) -> CheckOutcome | None:
    context = ssl_context or default_ssl_context()
    try:
        tls = context.wrap_socket(sock, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        return _certificate_problem(service, host, exc)
    except (ssl.SSLError, OSError) as exc:
        return _not_tls(service, host, port, exc)
    tls.close()
    return None


def _greeting(service: str, host: str, port: int, sock: socket.socket, timeout: float) -> CheckOutcome | None:
    """Servers that start in plain text speak first; silence means the port waits for a TLS hello."""
    sock.settimeout(min(GREETING_TIMEOUT, timeout))
    try:
        first = sock.recv(1)
    except TimeoutError:
        first = b""
    if first:
        return None
    return _fail(
        service,
        NO_GREETING,
        _("%(where)s accepted the connection but sent no greeting: this port probably expects TLS. Choose TLS for it.")
        % {"where": f"{host}:{port}"},
    )


def _connect(addresses: list[tuple[Any, ...]], timeout: float) -> socket.socket:
    """Tries each address in turn; the last error is the one reported."""
    error: OSError | None = None
    for family, kind, proto, _name, address in addresses:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError("no address")


def _from_adapter_error(service: str, host: str, port: int, exc: Exception) -> CheckOutcome:
    """An adapter error after the layers below answered: find its cause, else show its message."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return _certificate_problem(service, host, cause)
    if isinstance(cause, ssl.SSLError):
        return _not_tls(service, host, port, cause)
    if isinstance(exc, ImapConnectionError) and cause is None:
        # The IMAP adapter raises this one error without an underlying exception: STARTTLS missing.
        return _starttls_missing(service, host, port)
    return _fail(service, PROTOCOL, str(exc))


def _certificate_problem(service: str, host: str, exc: ssl.SSLCertVerificationError) -> CheckOutcome:
    return _fail(
        service,
        CERTIFICATE,
        _(
            "The certificate of %(host)s could not be verified (%(reason)s). The server name must be "
            "the one its certificate is made for."
        )
        % {"host": host, "reason": exc.verify_message or exc.reason or _("unknown reason")},
    )


def _not_tls(service: str, host: str, port: int, exc: BaseException) -> CheckOutcome:
    reason = getattr(exc, "reason", None) or ""
    where = f"{host}:{port}"
    if reason in _NOT_TLS_REASONS:
        words = _(
            "%(where)s does not speak TLS on this port. Choose STARTTLS (or no encryption) for this "
            "port, or the TLS port (IMAP 993, SMTP 465)."
        )
    else:
        words = _("The secure connection (TLS) with %(where)s failed: %(reason)s.")
    return _fail(service, TLS, words % {"where": where, "reason": reason or exc})


def _starttls_missing(service: str, host: str, port: int) -> CheckOutcome:
    return _fail(
        service,
        STARTTLS,
        _(
            "%(where)s does not offer STARTTLS, so the password would travel unencrypted. Choose TLS "
            "with its port, or no encryption only on a network you trust."
        )
        % {"where": f"{host}:{port}"},
    )


def _auth_words() -> str:
    return _("The server refused the username or password. Check both; some providers require an app password.")


def _fail(service: str, problem: str, message: str) -> CheckOutcome:
    return CheckOutcome(service, ok=False, problem=problem, message=message)
