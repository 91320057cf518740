"""The ManageSieve adapter (RFC 5804): the only module that speaks ManageSieve.

`sieve_check` checks that a server answers (the greeting). `SieveConnection` is one logged-in
session with intent-named methods: LISTSCRIPTS, GETSCRIPT, PUTSCRIPT, CHECKSCRIPT, SETACTIVE,
DELETESCRIPT and the capabilities (the SIEVE extensions the server has).

Security follows the account's IMAP setting (ManageSieve lives on the IMAP server): "tls" and
"starttls" both mean STARTTLS on the ManageSieve port (RFC 5804 defines no implicit-TLS port),
refused when the server does not offer it; "none" logs in without TLS (a loopback or trusted
network, as the account says). Authentication is SASL PLAIN with an initial response.

Every failure is a `SieveError` subclass whose message is safe to show (never a password);
a script the server refuses (PUTSCRIPT/CHECKSCRIPT NO) raises `SieveScriptError` carrying the
server's compile errors in its own words.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from apps.core.crypto import decrypt_secret
from apps.core.tls import default_ssl_context

if TYPE_CHECKING:
    from apps.mail.models import MailAccount

TIMEOUT = 10.0
GREETING_MAX_BYTES = 16 * 1024
MAX_LINE = 64 * 1024
MAX_LITERAL = 4 * 1024 * 1024  # a script or an error text; nothing legitimate is larger
# RFC 5804 quoted strings hold at most 1024 octets and no CR, LF or NUL; anything else is sent
# as a non-synchronising literal (every ManageSieve server supports `{n+}`).
_QUOTED_MAX = 1024


class SieveError(Exception):
    """Talking to the ManageSieve server failed. The message is safe to show."""


class SieveConnectionError(SieveError):
    """The server could not be reached, the secure channel failed, or the connection dropped."""


class SieveProtocolError(SieveError):
    """Something answered, but not as a ManageSieve server does."""


class SieveLoginError(SieveError):
    """The server refused the username or password."""


class SieveCommandError(SieveError):
    """The server answered NO (or BYE) to a command. `code` is its response code, e.g. "NONEXISTENT"."""

    def __init__(self, message: str, *, code: str = "", text: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.text = text


class SieveScriptError(SieveCommandError):
    """The server refused a script: `text` holds its compile errors (line numbers and all)."""


@dataclass(frozen=True)
class SieveSettings:
    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (apps.mail.models.Security), from the IMAP side
    username: str
    password: str = field(repr=False)

    @classmethod
    def for_account(cls, account: MailAccount) -> SieveSettings:
        if not account.sieve_port:
            raise SieveConnectionError("This account has no filter server (its ManageSieve port is empty).")
        return cls(
            host=account.imap_host,
            port=account.sieve_port,
            security=account.imap_security,
            username=account.imap_username,
            password=decrypt_secret(account.imap_password),
        )


@dataclass(frozen=True)
class SieveResponse:
    """The closing line of a command: OK, NO or BYE, an optional response code and human text."""

    status: str
    code: str = ""
    code_args: tuple[str, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class ScriptInfo:
    name: str
    active: bool


class Atom(str):
    """An unquoted word of a response (OK, NO, ACTIVE…), told apart from a quoted string "OK"."""

    __slots__ = ()


# A token of a response line: a string (quoted, literal or Atom) or a parenthesised list.
Token = str | list["Token"]


# ---------------------------------------------------------------- the wire
class _Reader:
    """Buffered reads of CRLF lines and literal bytes from the socket, with a per-call deadline."""

    def __init__(self, sock: socket.socket | ssl.SSLSocket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.buffer = b""

    def _fill(self) -> None:
        self.sock.settimeout(self.timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_LINE:
                raise SieveProtocolError("The ManageSieve server sent a line that is far too long.")
            self._fill()
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def parse_line(reader: _Reader) -> list[Token]:
    """One response line as tokens; literals `{n}`/`{n+}` at a line's end are read in place."""
    line = reader.line()
    tokens: list[Token] = []
    stack: list[list[Token]] = [tokens]
    pos = 0
    while True:
        if pos >= len(line):
            if len(stack) > 1:
                raise SieveProtocolError("The ManageSieve server sent an unclosed parenthesis.")
            return tokens
        char = line[pos : pos + 1]
        if char == b" ":
            pos += 1
        elif char == b"(":
            inner: list[Token] = []
            stack[-1].append(inner)
            stack.append(inner)
            pos += 1
        elif char == b")":
            if len(stack) == 1:
                raise SieveProtocolError("The ManageSieve server sent an unbalanced parenthesis.")
            stack.pop()
            pos += 1
        elif char == b'"':
            value, pos = _quoted(line, pos + 1)
            stack[-1].append(value)
        elif char == b"{" and line.endswith(b"}"):
            size_text = line[pos + 1 : -1].rstrip(b"+")
            if not size_text.isdigit() or int(size_text) > MAX_LITERAL:
                raise SieveProtocolError("The ManageSieve server sent a literal of an invalid size.")
            stack[-1].append(reader.exact(int(size_text)).decode("utf-8", "replace"))
            line, pos = reader.line(), 0  # the rest of the response line follows the literal
        else:
            end = pos
            while end < len(line) and line[end : end + 1] not in (b" ", b"(", b")"):
                end += 1
            stack[-1].append(Atom(line[pos:end].decode("utf-8", "replace")))
            pos = end


def _quoted(line: bytes, pos: int) -> tuple[str, int]:
    out = bytearray()
    while pos < len(line):
        byte = line[pos]
        if byte == 0x5C and pos + 1 < len(line):  # backslash: the next octet is literal
            out.append(line[pos + 1])
            pos += 2
        elif byte == 0x22:
            return out.decode("utf-8", "replace"), pos + 1
        else:
            out.append(byte)
            pos += 1
    raise SieveProtocolError("The ManageSieve server sent an unterminated string.")


def _final(tokens: list[Token]) -> SieveResponse | None:
    """The OK/NO/BYE closing a response, or None for a data line."""
    if not tokens or not isinstance(tokens[0], Atom) or tokens[0].upper() not in ("OK", "NO", "BYE"):
        return None
    status = tokens[0].upper()
    rest = tokens[1:]
    code = ""
    args: tuple[str, ...] = ()
    if rest and isinstance(rest[0], list):
        parts = [item if isinstance(item, str) else " ".join(_flatten(item)) for item in rest[0]]
        if parts:
            code, args = parts[0].upper(), tuple(parts[1:])
        rest = rest[1:]
    text = " ".join(item for item in rest if isinstance(item, str))
    return SieveResponse(status=status, code=code, code_args=args, text=text)


def _flatten(tokens: list[Token]) -> list[str]:
    out: list[str] = []
    for item in tokens:
        out.extend([item] if isinstance(item, str) else _flatten(item))
    return out


def sieve_string(value: str) -> bytes:
    """A ManageSieve string argument: quoted when allowed, else a non-synchronising literal."""
    data = value.encode("utf-8")
    if len(data) <= _QUOTED_MAX and not any(byte in data for byte in b"\r\n\x00"):
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return b"{%d+}\r\n" % len(data) + data


# ---------------------------------------------------------------- the session
class SieveConnection:
    """One logged-in ManageSieve session: `with SieveConnection(SieveSettings.for_account(a)) as s: ...`."""

    def __init__(
        self, settings: SieveSettings, *, timeout: float = TIMEOUT, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._reader: _Reader | None = None
        self.capabilities: dict[str, str] = {}

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # ------------------------------------------------------------ session
    def open(self) -> None:
        try:
            sock = socket.create_connection((self.settings.host, self.settings.port), timeout=self.timeout)
        except OSError as exc:
            raise SieveConnectionError(
                f"Cannot connect to the ManageSieve server {self.where}: {_reason(exc)}"
            ) from None
        self._reader = _Reader(sock, self.timeout)
        try:
            self.capabilities = self._read_capabilities()
            if self.settings.security in ("tls", "starttls"):
                if "STARTTLS" not in self.capabilities:
                    raise SieveConnectionError(f"The ManageSieve server {self.where} does not offer STARTTLS.")
                self._command(b"STARTTLS")
                context = self._ssl_context or default_ssl_context()
                self._reader = _Reader(context.wrap_socket(sock, server_hostname=self.settings.host), self.timeout)
                self.capabilities = self._read_capabilities()  # RFC 5804: sent again after STARTTLS
            self._authenticate()
        except BaseException:
            self.close()
            raise

    def _authenticate(self) -> None:
        mechanisms = self.capabilities.get("SASL", "").upper().split()
        if "PLAIN" not in mechanisms:
            raise SieveLoginError(f"The ManageSieve server {self.where} offers no password login on this connection.")
        secret = f"\0{self.settings.username}\0{self.settings.password}".encode()
        try:
            self._command(b'AUTHENTICATE "PLAIN" ' + sieve_string(base64.b64encode(secret).decode()))
        except SieveCommandError:
            raise SieveLoginError(
                f"The ManageSieve server {self.where} refused the login for {self.settings.username!r}: "
                "check the username and password."
            ) from None
        # Some servers change their capabilities once logged in (Dovecot adds MAXREDIRECTS).
        self.capabilities = self._parse_capabilities(self._command(b"CAPABILITY")[0])

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is None:
            return
        with contextlib.suppress(OSError):
            reader.sock.settimeout(2.0)
            reader.sock.sendall(b"LOGOUT\r\n")
        with contextlib.suppress(OSError):
            reader.sock.close()

    def __enter__(self) -> SieveConnection:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ capabilities
    @property
    def extensions(self) -> frozenset[str]:
        """The Sieve extensions the server's interpreter has (`fileinto`, `vacation`, `regex`…)."""
        return frozenset(self.capabilities.get("SIEVE", "").lower().split())

    @property
    def implementation(self) -> str:
        return self.capabilities.get("IMPLEMENTATION", "")

    # ------------------------------------------------------------ scripts
    def list_scripts(self) -> list[ScriptInfo]:
        lines, _ = self._command(b"LISTSCRIPTS")
        scripts = []
        for tokens in lines:
            if tokens and isinstance(tokens[0], str):
                active = len(tokens) > 1 and isinstance(tokens[1], str) and tokens[1].upper() == "ACTIVE"
                scripts.append(ScriptInfo(name=tokens[0], active=active))
        return scripts

    def active_script(self) -> str | None:
        return next((script.name for script in self.list_scripts() if script.active), None)

    def get_script(self, name: str) -> str:
        lines, _ = self._command(b"GETSCRIPT " + sieve_string(name))
        for tokens in lines:
            if tokens and isinstance(tokens[0], str):
                return tokens[0]
        return ""

    def put_script(self, name: str, content: str) -> None:
        """Stores (and compiles) a script; SieveScriptError with the server's words when it does not compile."""
        self._command(b"PUTSCRIPT " + sieve_string(name) + b" " + sieve_string(content), script=True)

    def check_script(self, content: str) -> None:
        """Compiles a script without storing it (RFC 5804 CHECKSCRIPT)."""
        self._command(b"CHECKSCRIPT " + sieve_string(content), script=True)

    def set_active(self, name: str) -> None:
        """Makes `name` the script run on delivery; "" deactivates every script."""
        self._command(b"SETACTIVE " + sieve_string(name))

    def delete_script(self, name: str) -> None:
        self._command(b"DELETESCRIPT " + sieve_string(name))

    # ------------------------------------------------------------ plumbing
    def _read_capabilities(self) -> dict[str, str]:
        lines, _ = self._read_response(command="the greeting")
        return self._parse_capabilities(lines)

    @staticmethod
    def _parse_capabilities(lines: list[list[Token]]) -> dict[str, str]:
        capabilities: dict[str, str] = {}
        for tokens in lines:
            if tokens and isinstance(tokens[0], str):
                value = tokens[1] if len(tokens) > 1 and isinstance(tokens[1], str) else ""
                capabilities[tokens[0].upper()] = value
        return capabilities

    def _command(self, line: bytes, *, script: bool = False) -> tuple[list[list[Token]], SieveResponse]:
        if self._reader is None:
            raise SieveConnectionError("The ManageSieve connection is not open.")
        name = line.split(b" ", 1)[0].decode("ascii", "replace")
        try:
            self._reader.sock.settimeout(self.timeout)
            self._reader.sock.sendall(line + b"\r\n")
        except OSError as exc:
            self.close()
            raise SieveConnectionError(
                f"The connection to the ManageSieve server {self.where} dropped: {_reason(exc)}"
            ) from None
        lines, final = self._read_response(command=name)
        if final.status == "OK":
            return lines, final
        if final.status == "BYE":
            self.close()
        text = final.text.strip()
        if script and final.status == "NO":
            raise SieveScriptError(
                f"The server refused the script: {text or 'no reason given'}", code=final.code, text=text
            )
        raise SieveCommandError(
            f"The ManageSieve server {self.settings.host} refused {name}: {text or final.code or 'no reason given'}",
            code=final.code,
            text=text,
        )

    def _read_response(self, *, command: str) -> tuple[list[list[Token]], SieveResponse]:
        assert self._reader is not None
        lines: list[list[Token]] = []
        try:
            while True:
                tokens = parse_line(self._reader)
                final = _final(tokens)
                if final is not None:
                    return lines, final
                if len(lines) > 10_000:
                    raise SieveProtocolError(f"The ManageSieve server {self.where} sent an endless answer.")
                lines.append(tokens)
        except (OSError, ConnectionError) as exc:
            self.close()
            raise SieveConnectionError(
                f"The ManageSieve server {self.where} failed during {command}: {_reason(exc)}"
            ) from None


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
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__
