"""The state of the installation, for `manage.py status` and the staff status page.

`system_status()` is the one selector both read. Every check has a short
timeout (the page must never hang on a dead server) and ends in a state a
human understands:

    ok            the component answers / its heartbeat is recent
    stale         its heartbeat is late: the process may be stuck or just died
    down          it does not answer, or there is no heartbeat at all
    unconfigured  nothing to check (an optional component that is not set up)

The installation is healthy when no *required* component is down; the mail
stack is checked but not required (many installations use an outside server).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import ssl
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal

import redis
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from apps.core.heartbeats import COMPONENTS, Component, Heartbeat, heartbeat_get

_DETAIL_LABELS = {
    "engine": gettext_lazy("engine"),
    "server_version": gettext_lazy("server version"),
    "used_memory": gettext_lazy("memory used"),
    "last_heartbeat": gettext_lazy("last heartbeat (UTC)"),
    "host": gettext_lazy("host"),
    "pid": gettext_lazy("process id"),
    "queue_delay": gettext_lazy("queue delay (s)"),
    "users": gettext_lazy("users with an open tab"),
    "address": gettext_lazy("address"),
    "source": gettext_lazy("configured by"),
    "tls": gettext_lazy("implicit TLS"),
    "banner": gettext_lazy("greeting"),
    "software": gettext_lazy("software"),
}

State = Literal["ok", "stale", "down", "unconfigured"]
MailService = Literal["imap", "submission", "smtp", "sieve"]

CONNECT_TIMEOUT = 2.0  # seconds, per network check
REDIS_TIMEOUT = 1.0
BANNER_BYTES = 4096

# How late a heartbeat may be before it reads as stale: a few missed beats.
HEARTBEAT_INTERVALS: dict[Component, float] = {"worker": 15.0, "beat": 15.0, "push": 2.0}
STALE_AFTER: dict[Component, float] = {"worker": 60.0, "beat": 60.0, "push": 30.0}


@dataclass(frozen=True)
class CheckResult:
    key: str
    label: str
    state: State
    summary: str
    required: bool
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def labelled_details(self) -> list[tuple[str, str]]:
        """The details with words for people (the keys stay stable for --json)."""
        return [(str(_DETAIL_LABELS.get(name, name)), value) for name, value in self.details.items()]


@dataclass(frozen=True)
class SystemStatus:
    checked_at: datetime
    checks: list[CheckResult]
    versions: dict[str, str]

    @property
    def healthy(self) -> bool:
        """No required component is down (stale ones are reported, but still count as running)."""
        return not self.problems

    @property
    def problems(self) -> list[CheckResult]:
        return [check for check in self.checks if check.required and check.state == "down"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "checked_at": self.checked_at.isoformat(),
            "checks": [asdict(check) for check in self.checks],
            "versions": self.versions,
        }


# ---------------------------------------------------------------- words
def age_in_words(seconds: float) -> str:
    """'12 seconds', '3 minutes', '2 hours': how long ago something happened."""
    value = int(seconds)
    if value < 60:
        return ngettext("%(count)d second", "%(count)d seconds", value) % {"count": value}
    if value < 3600:
        minutes = value // 60
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = value // 3600
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def _error_words(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(exc, TimeoutError | socket.timeout):
        return _("no answer within %(seconds)s s") % {"seconds": f"{CONNECT_TIMEOUT:g}"}
    if isinstance(exc, socket.gaierror):
        return _("unknown host name")
    if isinstance(exc, ssl.SSLError):
        return _("TLS failed: %(reason)s") % {"reason": exc.reason or exc}
    return str(exc) or exc.__class__.__name__


# ---------------------------------------------------------------- database
_ENGINE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "mysql": "MySQL", "oracle": "Oracle"}


def check_database() -> CheckResult:
    label = _("Database")
    engine = _ENGINE_NAMES.get(connection.vendor, connection.vendor)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            server = _database_version(cursor)
    except Exception as exc:  # any driver error means the same thing here: no database
        return CheckResult(
            "database",
            label,
            "down",
            _("does not answer: %(error)s") % {"error": _first_line(exc)},
            True,
            {"engine": engine},
        )
    return CheckResult(
        "database",
        label,
        "ok",
        _("%(engine)s %(version)s answers") % {"engine": engine, "version": server},
        True,
        {"engine": engine, "server_version": server},
    )


def _database_version(cursor: Any) -> str:
    if connection.vendor == "postgresql":
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])
    if connection.vendor == "sqlite":
        cursor.execute("SELECT sqlite_version()")
        return str(cursor.fetchone()[0])
    if connection.vendor == "mysql":
        cursor.execute("SELECT VERSION()")
        return str(cursor.fetchone()[0])
    return ""


# ---------------------------------------------------------------- Redis and heartbeats
def _redis_client() -> redis.Redis:
    # Its own short-timeout client: the process-wide one waits longer than a status page should.
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        decode_responses=True,
        retry_on_timeout=False,
    )


def check_redis(client: redis.Redis) -> CheckResult:
    label = _("Redis")
    try:
        client.ping()
        server = client.info("server")
        memory = client.info("memory")
    except redis.RedisError as exc:
        return CheckResult("redis", label, "down", _("does not answer: %(error)s") % {"error": exc}, True)
    version = str(server.get("redis_version", ""))
    used = str(memory.get("used_memory_human", ""))
    return CheckResult(
        "redis",
        label,
        "ok",
        _("Redis %(version)s answers, %(memory)s used") % {"version": version, "memory": used},
        True,
        {"server_version": version, "used_memory": used},
    )


_HEARTBEAT_LABELS: dict[Component, Callable[[], str]] = {
    "worker": lambda: _("Celery worker"),
    "beat": lambda: _("Celery beat"),
    "push": lambda: _("Push process"),
}


def check_heartbeat(component: Component, client: redis.Redis | None, now: float) -> CheckResult:
    label = _HEARTBEAT_LABELS[component]()
    if client is None:
        return CheckResult(component, label, "down", _("unknown: Redis, which keeps heartbeats, is down"), True)
    try:
        beat: Heartbeat | None = heartbeat_get(component=component, client=client)
    except redis.RedisError as exc:
        return CheckResult(component, label, "down", _("unknown: %(error)s") % {"error": exc}, True)
    if beat is None:
        return CheckResult(component, label, "down", _("no heartbeat in the last 10 minutes: not running"), True)
    age = beat.age(now)
    words = _("last heartbeat %(age)s ago") % {"age": age_in_words(age)}
    details = {"last_heartbeat": datetime.fromtimestamp(beat.at, tz=UTC).isoformat(timespec="seconds")}
    details.update(beat.info)
    if age > STALE_AFTER[component]:
        expected = _("expected every %(seconds)s s") % {"seconds": f"{HEARTBEAT_INTERVALS[component]:g}"}
        return CheckResult(component, label, "stale", f"{words} ({expected})", True, details)
    return CheckResult(component, label, "ok", words, True, details)


# ---------------------------------------------------------------- mail stack
@dataclass(frozen=True)
class MailEndpoint:
    service: MailService
    host: str
    port: int
    implicit_tls: bool
    source: str


_MAIL_LABELS: dict[MailService, Callable[[], str]] = {
    "imap": lambda: _("IMAP"),
    "submission": lambda: _("SMTP submission"),
    "smtp": lambda: _("SMTP"),
    "sieve": lambda: _("ManageSieve"),
}
# What the first line of a healthy server's greeting starts with.
_GREETINGS: dict[MailService, tuple[str, ...]] = {
    "imap": ("* OK", "* PREAUTH"),
    "submission": ("220",),
    "smtp": ("220",),
    "sieve": ('"IMPLEMENTATION"', '"SIEVE"', '"SASL"', '"STARTTLS"', '"VERSION"', "OK"),
}
_GOODBYE: dict[MailService, bytes] = {
    "imap": b"a1 LOGOUT\r\n",
    "submission": b"QUIT\r\n",
    "smtp": b"QUIT\r\n",
    "sieve": b"LOGOUT\r\n",
}


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip().strip('"')
    return values


def mail_endpoints() -> tuple[list[MailEndpoint], list[CheckResult]]:
    """The mail servers this installation talks to, and problems found while listing them."""
    endpoints: list[MailEndpoint] = []
    problems: list[CheckResult] = []
    defaults: dict[str, Any] = settings.RUCHE_MAIL_DEFAULTS
    source = _("mail account defaults")
    if defaults.get("imap_host"):
        host = str(defaults["imap_host"])
        endpoints.append(
            MailEndpoint("imap", host, int(defaults["imap_port"]), defaults["imap_security"] == "tls", source)
        )
        endpoints.append(MailEndpoint("sieve", host, int(defaults["sieve_port"]), False, source))
    if defaults.get("smtp_host"):
        endpoints.append(
            MailEndpoint(
                "submission",
                str(defaults["smtp_host"]),
                int(defaults["smtp_port"]),
                defaults["smtp_security"] == "tls",
                source,
            )
        )
    if getattr(settings, "RUCHE_SMTP_HOST", ""):
        endpoints.append(
            MailEndpoint(
                "smtp",
                settings.EMAIL_HOST,
                int(settings.EMAIL_PORT),
                bool(settings.EMAIL_USE_SSL),
                _("outgoing mail of the instance"),
            )
        )
    stack_file = os.environ.get("RUCHE_MAIL_STACK_ENV", "")
    if stack_file:
        try:
            env = _read_env_file(Path(stack_file))
            host = env.get("IMAP_HOST", "127.0.0.1")
            source = _("demo mail domain")
            for service, name in (
                ("imap", "IMAP_PORT"),
                ("sieve", "SIEVE_PORT"),
                ("smtp", "SMTP_PORT"),
                ("submission", "SUBMISSION_PORT"),
            ):
                if env.get(name):
                    endpoints.append(MailEndpoint(service, host, int(env[name]), False, source))  # type: ignore[arg-type]
        except (OSError, ValueError) as exc:
            problems.append(
                CheckResult(
                    "mail:stack-env",
                    _("Demo mail domain"),
                    "down",
                    _("cannot read RUCHE_MAIL_STACK_ENV (%(path)s): %(error)s") % {"path": stack_file, "error": exc},
                    False,
                )
            )
    unique: dict[tuple[str, str, int], MailEndpoint] = {}
    for endpoint in endpoints:
        unique.setdefault((endpoint.service, endpoint.host, endpoint.port), endpoint)
    return list(unique.values()), problems


def _read_greeting(sock: socket.socket, service: MailService, deadline: float) -> str:
    """The server's greeting: one line, or SMTP's continued lines, or ManageSieve's capability block."""
    data = b""
    while len(data) < BANNER_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
        lines = data.split(b"\r\n")
        complete = lines[:-1]
        if not complete:
            continue
        if service in ("smtp", "submission") and complete[-1][3:4] == b"-":
            continue  # "220-" continues on the next line
        if service == "sieve" and not any(line.startswith((b"OK", b"NO", b"BYE")) for line in complete):
            continue
        break
    return data.decode("utf-8", "replace")


def probe_mail(endpoint: MailEndpoint) -> CheckResult:
    """TCP connect (plus TLS for implicit-TLS ports) and read the greeting; nothing is sent but goodbye."""
    label = _MAIL_LABELS[endpoint.service]()
    key = f"mail:{endpoint.service}:{endpoint.host}:{endpoint.port}"
    where = f"{endpoint.host}:{endpoint.port}"
    details = {"address": where, "source": endpoint.source, "tls": _("yes") if endpoint.implicit_tls else _("no")}
    deadline = time.monotonic() + CONNECT_TIMEOUT * 2
    try:
        raw = socket.create_connection((endpoint.host, endpoint.port), timeout=CONNECT_TIMEOUT)
        sock: socket.socket = raw
        try:
            if endpoint.implicit_tls:
                sock = ssl.create_default_context().wrap_socket(raw, server_hostname=endpoint.host)
            greeting = _read_greeting(sock, endpoint.service, deadline)
            with contextlib.suppress(OSError):  # the greeting is what mattered
                sock.sendall(_GOODBYE[endpoint.service])
        finally:
            sock.close()
    except (OSError, ssl.SSLError) as exc:
        return CheckResult(
            key,
            label,
            "down",
            _("%(address)s: %(error)s") % {"address": where, "error": _error_words(exc)},
            False,
            details,
        )
    first = _clean(greeting.split("\r\n", 1)[0])
    details["banner"] = first
    software = _software(greeting)
    if software:
        details["software"] = software
    if not first.startswith(_GREETINGS[endpoint.service]):
        return CheckResult(
            key,
            label,
            "down",
            _("%(address)s answers, but not as %(service)s expects: %(banner)s")
            % {"address": where, "service": label, "banner": first or _("(nothing)")},
            False,
            details,
        )
    return CheckResult(
        key,
        label,
        "ok",
        _("%(address)s answers: %(software)s") % {"address": where, "software": software or first},
        False,
        details,
    )


def _clean(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else " " for ch in text)
    return printable.strip()[:160]


def _software(greeting: str) -> str:
    """'Dovecot (Debian)', 'Postfix (Debian/GNU)', 'Dovecot Pigeonhole': what the server says it is."""
    for line in greeting.split("\r\n"):
        if line.upper().startswith('"IMPLEMENTATION"'):
            return _clean(line.split(" ", 1)[1].strip('"'))
    for name in ("Dovecot", "Postfix", "Exim", "Cyrus", "Courier", "Stalwart"):
        start = greeting.find(name)
        if start >= 0:
            words = greeting[start:].split("\r\n", 1)[0].split()
            kept = [words[0]] + [w for w in words[1:3] if w.startswith("(")]
            return _clean(" ".join(kept).rstrip("."))
    return ""


def check_mail() -> list[CheckResult]:
    endpoints, problems = mail_endpoints()
    if not endpoints and not problems:
        return [
            CheckResult(
                "mail",
                _("Mail servers"),
                "unconfigured",
                _("no mail server configured (RUCHE_MAIL_IMAP_HOST, RUCHE_SMTP_HOST)"),
                False,
            )
        ]
    if not endpoints:
        return problems
    with ThreadPoolExecutor(max_workers=min(8, len(endpoints)), thread_name_prefix="status-mail") as pool:
        return problems + list(pool.map(probe_mail, endpoints))


# ---------------------------------------------------------------- versions
def _dist_version(name: str) -> str:
    try:
        return package_version(name)
    except PackageNotFoundError:
        return _("not installed")


def versions(checks: list[CheckResult]) -> dict[str, str]:
    found: dict[str, str] = {
        "Ruche": settings.RUCHE_VERSION,
        "Python": f"{platform.python_version()} ({sys.implementation.name})",
        "Django": _dist_version("django"),
        "Celery": _dist_version("celery"),
        "Channels": _dist_version("channels"),
        "django-allauth": _dist_version("django-allauth"),
    }
    for check in checks:
        if check.key == "database" and check.details.get("server_version"):
            found[check.details["engine"]] = check.details["server_version"]
        elif check.key == "redis" and check.details.get("server_version"):
            found["Redis"] = check.details["server_version"]
        elif check.key.startswith("mail:") and check.details.get("software"):
            software = check.details["software"]
            name = software.split()[0]
            if name in ("Dovecot", "Postfix") and name not in found:
                found[name] = software
    return found


# ---------------------------------------------------------------- the selector
def system_status() -> SystemStatus:
    """Everything the status command and page show, checked now, within a few seconds at most."""
    now = time.time()
    checks = [check_database()]
    client = _redis_client()
    try:
        redis_check = check_redis(client)
        checks.append(redis_check)
        reachable = client if redis_check.ok else None
        checks.extend(check_heartbeat(component, reachable, now) for component in COMPONENTS)
    finally:
        client.close()
    checks.extend(check_mail())
    return SystemStatus(checked_at=datetime.fromtimestamp(now, tz=UTC), checks=checks, versions=versions(checks))
