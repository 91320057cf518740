"""The remote-content proxy: fetches an image a rendered message references, for the user.

Only URLs that Ruche itself put in a rendered message can be fetched: the sanitiser rewrites
remote images to `signed_proxy_url(url)`, whose token is signed with the site's SECRET_KEY.
`fetch_remote_image(token)` then refuses, with a `RemoteContentRefused` saying why:

- schemes other than http and https, and URLs with no host;
- hosts that resolve to any non-public address (private, loopback, link-local, multicast,
  reserved, unspecified, shared, and IPv4 embedded in IPv6). Every resolved address is checked,
  and the connection goes to the checked address (the name is not resolved twice), so DNS
  rebinding cannot swap in an internal address between the check and the connection;
- more than MAX_REDIRECTS redirects, each target checked like the first URL;
- responses that are not images of a raster type (no SVG: it can carry script), whose bytes do
  not look like the declared type, or that are compressed;
- bodies over `max_bytes` (reading stops there) and servers slower than the deadline.

Standard library only (http.client with a connection pinned to the vetted address).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.core.tls import default_ssl_context

ALLOWED_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "image/x-icon"}
    | {"image/vnd.microsoft.icon"}
)
MAX_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 3
TIMEOUT = 5.0  # seconds per connect/read
DEADLINE = 15.0  # seconds for the whole fetch, redirects included (a server dripping bytes)
URL_NAME = "mail:remote_image"  # the lead's view: path("remote/<str:token>", …, name="remote_image")
_SALT = "apps.mail.proxy.remote-image"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = "Ruche image proxy"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RemoteContentRefused(Exception):  # noqa: N818  (a refusal, not a bug)
    """The proxy will not serve this URL; `reason` says why in words, `code` for programs."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class RemoteImage:
    content_type: str  # from the bytes themselves, one of ALLOWED_IMAGE_TYPES
    data: bytes
    url: str  # the final URL, after redirects


def proxy_token(url: str) -> str:
    return signing.dumps(url, salt=_SALT, compress=True)


def signed_proxy_url(url: str) -> str:
    """The same-origin URL through which the message frame may load `url`."""
    return reverse(URL_NAME, kwargs={"token": proxy_token(url)})


def url_from_token(token: str) -> str:
    try:
        url = signing.loads(token, salt=_SALT)
    except signing.BadSignature as error:
        raise RemoteContentRefused("signature", _("This image address was not issued by Ruche.")) from error
    if not isinstance(url, str):
        raise RemoteContentRefused("signature", _("This image address was not issued by Ruche."))
    return url


def fetch_remote_image(
    token: str,
    *,
    allow_addresses: Collection[IPAddress] = (),
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
) -> RemoteImage:
    """Fetches the image a signed token names, or raises RemoteContentRefused.

    `allow_addresses` exempts exact addresses from the public-address rule: tests use it to reach
    a local server; production code never passes it.
    """
    url = url_from_token(token)
    return fetch_image_url(
        url,
        allow_addresses=allow_addresses,
        max_bytes=max_bytes,
        max_redirects=max_redirects,
        timeout=timeout,
        deadline=deadline,
    )


def fetch_image_url(
    url: str,
    *,
    allow_addresses: Collection[IPAddress] = (),
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
) -> RemoteImage:
    ends_at = time.monotonic() + deadline
    for _hop in range(max_redirects + 1):
        response, sock = _request(url, allow_addresses=allow_addresses, timeout=timeout, ends_at=ends_at)
        try:
            if response.status in _REDIRECTS:
                location = response.getheader("Location")
                if not location:
                    raise RemoteContentRefused("status", _("The image server sent a redirect without a target."))
                url = urljoin(url, location.strip())
                continue
            return _read_image(response, sock, url=url, max_bytes=max_bytes, timeout=timeout, ends_at=ends_at)
        finally:
            response.close()
    raise RemoteContentRefused("redirect", _("The image server redirected too many times."))


def address_is_public(address: IPAddress) -> bool:
    """False for every address a server must not be tricked into reaching for a stranger."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address | None] = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.append(address.teredo[1])
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and not address_is_public(inner) for inner in embedded):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _vetted_addresses(host: str, port: int, allow_addresses: Collection[IPAddress]) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise RemoteContentRefused("dns", _("The image server's name could not be resolved.")) from error
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone
        address = ipaddress.ip_address(text)
        if address not in allow_addresses and not address_is_public(address):
            raise RemoteContentRefused(
                "address", _("The image server is on a private or reserved network address; Ruche does not go there.")
            )
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise RemoteContentRefused("dns", _("The image server's name could not be resolved."))
    return addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to an address checked beforehand, whatever the name resolves to now."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.vetted_address = address
        self.pinned_socket: socket.socket | None = None

    def connect(self) -> None:
        self.sock = self.pinned_socket = socket.create_connection((self.vetted_address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self.tls_context = default_ssl_context()
        super().__init__(host, port, timeout=timeout, context=self.tls_context)
        self.vetted_address = address
        self.pinned_socket: socket.socket | None = None

    def connect(self) -> None:
        sock = socket.create_connection((self.vetted_address, self.port), self.timeout)
        # The certificate is checked against the host name, not the address we connect to.
        self.sock = self.pinned_socket = self.tls_context.wrap_socket(sock, server_hostname=self.host)


def _request(
    url: str, *, allow_addresses: Collection[IPAddress], timeout: float, ends_at: float
) -> tuple[http.client.HTTPResponse, socket.socket]:
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise RemoteContentRefused("url", _("The image address is not valid.")) from error
    if scheme not in ("http", "https"):
        raise RemoteContentRefused("scheme", _("Only http and https images are loaded."))
    if not host:
        raise RemoteContentRefused("url", _("The image address has no server name."))
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as error:
        raise RemoteContentRefused("url", _("The image address is not valid.")) from error
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    last_error: Exception | None = None
    for address in _vetted_addresses(ascii_host, port, allow_addresses):
        remaining = ends_at - time.monotonic()
        if remaining <= 0:
            break
        connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection: _PinnedHTTPConnection | _PinnedHTTPSConnection = connection_class(
            ascii_host, port, address=address, timeout=min(timeout, remaining)
        )
        try:
            connection.request(
                "GET",
                path,
                headers={"User-Agent": _USER_AGENT, "Accept": "image/*", "Accept-Encoding": "identity"},
            )
            response = connection.getresponse()
            # Kept: a response that closes the connection outlives the connection's reference.
            assert connection.pinned_socket is not None
            return response, connection.pinned_socket
        except TimeoutError as error:
            connection.close()
            raise RemoteContentRefused("timeout", _("The image server is too slow.")) from error
        except ssl.SSLError as error:
            connection.close()
            raise RemoteContentRefused("tls", _("The image server's secure connection failed.")) from error
        except (OSError, http.client.HTTPException, ValueError) as error:
            connection.close()
            last_error = error
    raise RemoteContentRefused("network", _("The image server could not be reached.")) from last_error


def _read_image(
    response: http.client.HTTPResponse, sock: socket.socket, *, url: str, max_bytes: int, timeout: float, ends_at: float
) -> RemoteImage:
    if response.status != 200:
        raise RemoteContentRefused("status", _("The image server answered with an error."))
    declared = (response.getheader("Content-Type") or "").split(";", 1)[0].strip().lower()
    if declared not in ALLOWED_IMAGE_TYPES:
        raise RemoteContentRefused("type", _("The remote file is not an image Ruche shows."))
    if (response.getheader("Content-Encoding") or "identity").strip().lower() not in ("", "identity"):
        raise RemoteContentRefused("type", _("The remote image is compressed in a way Ruche does not accept."))
    length = response.getheader("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise RemoteContentRefused("size", _("The remote image is too large."))
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            remaining = ends_at - time.monotonic()
            if remaining <= 0:
                raise RemoteContentRefused("timeout", _("The image server is too slow."))
            sock.settimeout(min(timeout, remaining))
            chunk = response.read1(min(65536, max_bytes + 1 - total))
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise RemoteContentRefused("size", _("The remote image is too large."))
            chunks.append(chunk)
    except TimeoutError as error:
        raise RemoteContentRefused("timeout", _("The image server is too slow.")) from error
    except (OSError, http.client.HTTPException) as error:
        raise RemoteContentRefused("network", _("The image download was interrupted.")) from error
    data = b"".join(chunks)
    sniffed = sniff_image_type(data)
    if sniffed is None:
        raise RemoteContentRefused("type", _("The remote file is not an image Ruche shows."))
    return RemoteImage(content_type=sniffed, data=data, url=url)


_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)


def sniff_image_type(data: bytes) -> str | None:
    """The image type the bytes themselves show, among the allowed raster types."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    if data.startswith(b"BM") and len(data) > 14:
        return "image/bmp"
    return None
