"""The ManageSieve adapter (RFC 5804): the only module that speaks ManageSieve.

For now it checks that a ManageSieve server answers: TCP connect and the greeting (a list of
capabilities closed by an OK line). Managing filters builds on it later.
"""

from __future__ import annotations

import contextlib
import socket
import time

TIMEOUT = 10.0
GREETING_MAX_BYTES = 16 * 1024


class SieveError(Exception):
    """Talking to the ManageSieve server failed. The message is safe to show."""


class SieveConnectionError(SieveError):
    """The server could not be reached."""


class SieveProtocolError(SieveError):
    """Something answered, but not as a ManageSieve server does."""


def sieve_check(host: str, port: int, *, timeout: float = TIMEOUT) -> str:
    """Connects and reads the greeting; returns the server's IMPLEMENTATION (or "")."""
    where = f"{host}:{port}"
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise SieveConnectionError(f"Cannot connect to the ManageSieve server {where}: {_reason(exc)}") from exc
    try:
        lines = _read_greeting(sock, time.monotonic() + timeout)
        with contextlib.suppress(OSError):
            sock.sendall(b"LOGOUT\r\n")
    except OSError as exc:
        raise SieveConnectionError(f"The ManageSieve server {where} did not greet: {_reason(exc)}") from exc
    finally:
        sock.close()
    if not lines or not lines[-1].upper().startswith(b"OK"):
        first = lines[0].decode("utf-8", "replace")[:100] if lines else ""
        raise SieveProtocolError(f"{where} answers, but not as a ManageSieve server: {first or '(nothing)'}")
    for line in lines:
        name, _, value = line.partition(b" ")
        if name.strip(b'"').upper() == b"IMPLEMENTATION":
            return value.strip().strip(b'"').decode("utf-8", "replace")
    return ""


def _read_greeting(sock: socket.socket, deadline: float) -> list[bytes]:
    """Capability lines up to the closing OK/NO/BYE line (or whatever came before the server stopped)."""
    data = b""
    while len(data) < GREETING_MAX_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
        lines = data.split(b"\r\n")[:-1]
        if any(line.upper().startswith((b"OK", b"NO", b"BYE")) for line in lines):
            break
        if lines and not lines[0].startswith(b'"'):
            break  # not a capability line: no point waiting for more
    return [line for line in data.split(b"\r\n") if line]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
