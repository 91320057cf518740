"""The remote-image proxy against a real HTTP server started by the test.

The server listens on loopback, so the first thing proven is that the proxy refuses it. The
success path is then tested by exempting exactly that address (`allow_addresses`, test-only).
"""

from __future__ import annotations

import ipaddress
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from apps.mail.proxy import (
    RemoteContentRefused,
    address_is_public,
    fetch_remote_image,
    proxy_token,
    signed_proxy_url,
    url_from_token,
)
from apps.mail.sanitize import RemotePolicy, sanitize_html

LOOPBACK = ipaddress.ip_address("127.0.0.1")


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png()


# path → (status, content type, body, extra headers); "{port}" in a header is the server's port.
ROUTES: dict[str, tuple[int, str, bytes, list[tuple[str, str]]]] = {
    "/pixel.png": (200, "image/png; charset=binary", PNG, []),
    "/page.html": (200, "text/html", b"<html><script>alert(1)</script></html>", []),
    "/image.svg": (200, "image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', []),
    "/fake.png": (200, "image/png", b"<html>not an image</html>", []),
    "/big.png": (200, "image/png", PNG + b"\x00" * 5000, []),
    "/gzipped.png": (200, "image/png", zlib.compress(PNG), [("Content-Encoding", "gzip")]),
    "/to-other-loopback": (302, "text/plain", b"", [("Location", "http://127.0.0.2:{port}/pixel.png")]),
    "/to-metadata": (302, "text/plain", b"", [("Location", "http://169.254.169.254/latest/meta-data/")]),
    "/to-file": (302, "text/plain", b"", [("Location", "file:///etc/passwd")]),
    "/missing.png": (404, "text/plain", b"no", []),
}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, content_type: str, body: bytes, headers, *, length: bool = True) -> None:
        port = cast(ThreadingHTTPServer, self.server).server_port
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value.format(port=port))
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path in ROUTES:
            self._send(*ROUTES[self.path])
        elif self.path == "/big-unannounced.png":  # no Content-Length: the body ends when the connection does
            self.close_connection = True
            self._send(200, "image/png", PNG + b"\x00" * 5000, [], length=False)
        elif self.path.startswith("/hop/"):  # /hop/N: N redirects before the image
            remaining = int(self.path.rsplit("/", 1)[1])
            target = "/pixel.png" if remaining <= 1 else f"/hop/{remaining - 1}"
            self._send(302, "text/plain", b"", [("Location", target)])
        elif self.path == "/slow.png":
            time.sleep(2)
            self._send(*ROUTES["/pixel.png"])
        else:
            self._send(500, "text/plain", b"?", [])


@pytest.fixture(scope="module")
def image_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fetch(url: str, **kwargs):
    return fetch_remote_image(proxy_token(url), **kwargs)


def refusal(url: str, **kwargs) -> RemoteContentRefused:
    with pytest.raises(RemoteContentRefused) as caught:
        fetch(url, **kwargs)
    return caught.value


def test_the_proxy_refuses_a_server_on_loopback(image_server):
    error = refusal(f"{image_server}/pixel.png")
    assert error.code == "address"
    assert "private or reserved" in error.reason


def test_the_proxy_refuses_loopback_by_name_and_in_ipv6_forms(image_server):
    port = image_server.rsplit(":", 1)[1]
    assert refusal(f"http://localhost:{port}/pixel.png").code == "address"
    assert refusal(f"http://[::1]:{port}/pixel.png").code == "address"
    assert refusal(f"http://[::ffff:127.0.0.1]:{port}/pixel.png").code == "address"
    assert refusal(f"http://0x7f000001:{port}/pixel.png").code in ("address", "dns")


@pytest.mark.parametrize(
    "address",
    ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",  # noqa: S104
     "240.0.0.1", "255.255.255.255", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:10.0.0.1",
     "2002:7f00:1::", "64:ff9b::a00:1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address):
    assert not address_is_public(ipaddress.ip_address(address))


def test_public_addresses_are_accepted():
    assert address_is_public(ipaddress.ip_address("93.184.216.34"))
    assert address_is_public(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


def test_the_success_path_returns_the_image(image_server):
    image = fetch(f"{image_server}/pixel.png", allow_addresses={LOOPBACK})
    assert image.content_type == "image/png"
    assert image.data == PNG


def test_non_image_types_are_refused(image_server):
    assert refusal(f"{image_server}/page.html", allow_addresses={LOOPBACK}).code == "type"


def test_svg_is_refused(image_server):
    assert refusal(f"{image_server}/image.svg", allow_addresses={LOOPBACK}).code == "type"


def test_bytes_that_are_not_the_declared_image_are_refused(image_server):
    assert refusal(f"{image_server}/fake.png", allow_addresses={LOOPBACK}).code == "type"


def test_compressed_responses_are_refused(image_server):
    assert refusal(f"{image_server}/gzipped.png", allow_addresses={LOOPBACK}).code == "type"


def test_oversized_bodies_are_refused_with_or_without_a_length(image_server):
    assert refusal(f"{image_server}/big.png", allow_addresses={LOOPBACK}, max_bytes=1000).code == "size"
    assert refusal(f"{image_server}/big-unannounced.png", allow_addresses={LOOPBACK}, max_bytes=1000).code == "size"
    assert fetch(f"{image_server}/big.png", allow_addresses={LOOPBACK}, max_bytes=10_000).content_type == "image/png"


def test_up_to_three_redirects_are_followed(image_server):
    image = fetch(f"{image_server}/hop/3", allow_addresses={LOOPBACK})
    assert image.data == PNG
    assert image.url.endswith("/pixel.png")


def test_a_fourth_redirect_is_refused(image_server):
    assert refusal(f"{image_server}/hop/4", allow_addresses={LOOPBACK}).code == "redirect"


def test_redirects_to_private_addresses_are_refused(image_server):
    assert refusal(f"{image_server}/to-other-loopback", allow_addresses={LOOPBACK}).code == "address"
    assert refusal(f"{image_server}/to-metadata", allow_addresses={LOOPBACK}).code == "address"


def test_redirects_to_other_schemes_are_refused(image_server):
    assert refusal(f"{image_server}/to-file", allow_addresses={LOOPBACK}).code == "scheme"


def test_slow_servers_are_refused(image_server):
    assert refusal(f"{image_server}/slow.png", allow_addresses={LOOPBACK}, timeout=0.3).code == "timeout"


def test_error_statuses_are_refused(image_server):
    assert refusal(f"{image_server}/missing.png", allow_addresses={LOOPBACK}).code == "status"


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/a.png", "gopher://example.org/", "http:///nohost"]
)
def test_other_schemes_and_hostless_urls_are_refused(url):
    assert refusal(url).code in ("scheme", "url")


def test_a_token_ruche_did_not_sign_is_refused():
    token = proxy_token("https://example.org/a.png")
    with pytest.raises(RemoteContentRefused) as caught:
        fetch_remote_image(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert caught.value.code == "signature"
    with pytest.raises(RemoteContentRefused):
        url_from_token("https://example.org/a.png")


# The proxy view belongs to the reading views; this URLconf stands in for its route name.
def _remote_image(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse()


urlpatterns = [path("mail/", include(([path("remote/<str:token>", _remote_image, name="remote_image")], "mail")))]


@pytest.mark.urls(__name__)
def test_sanitised_messages_point_remote_images_at_signed_proxy_urls():
    result = sanitize_html(
        '<img src="https://cdn.example.org/a.png?x=1&amp;y=2">', cid_url=None, remote=RemotePolicy.PROXY
    )
    prefix = '<img src="/mail/remote/'
    assert result.html.startswith(prefix)
    token = result.html[len(prefix) : result.html.index('"', len(prefix))]
    assert url_from_token(token) == "https://cdn.example.org/a.png?x=1&y=2"
    assert signed_proxy_url("https://cdn.example.org/a.png?x=1&y=2") == f"/mail/remote/{token}"
