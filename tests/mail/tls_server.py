"""Local TLS servers for the account tests: a self-signed certificate, an HTTPS server serving
fixed answers (autoconfig), a bare TLS listener (certificate errors) and a TLS relay in front of
a plain port (implicit-TLS submission)."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this certificate only."""
        context = ssl.create_default_context(cafile=str(self.cert))
        return context

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


def make_certificate(directory: Path, names: list[str]) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return Certificate(cert_path, key_path)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@contextmanager
def https_server(certificate: Certificate, routes: dict[str, Answer]) -> Iterator[tuple[int, list[str]]]:
    """Serves `routes` (keyed by "Host-header path?query") on 127.0.0.1; yields (port, requests seen)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").split(":")[0]
            key = f"{host}{self.path}"
            seen.append(key)
            answer = routes.get(key) or routes.get(f"{host}{self.path.split('?')[0]}") or Answer(404, b"not here")
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = certificate.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def _tls_server(certificate: Certificate, handle: Callable[[ssl.SSLSocket], None]) -> Iterator[int]:
    """Accepts connections on a free port, completes TLS with `certificate`, hands each to `handle`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        context = certificate.server_context()
        while not stop.is_set():
            try:
                conn, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                conn.settimeout(5)
                tls = context.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                continue
            handle(tls)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


@contextmanager
def tls_listener(certificate: Certificate) -> Iterator[int]:
    """Accepts connections and completes TLS handshakes with `certificate`; says nothing after."""

    def wait_and_close(tls: ssl.SSLSocket) -> None:
        with suppress(OSError), tls:
            tls.recv(1)

    with _tls_server(certificate, wait_and_close) as port:
        yield port


@contextmanager
def tls_relay(certificate: Certificate, port: int) -> Iterator[int]:
    """Implicit TLS in front of a plain local port (the test Postfix has no certificate)."""

    def pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def relay(tls: ssl.SSLSocket) -> None:
        tls.settimeout(None)
        backend = socket.create_connection(("127.0.0.1", port))
        threading.Thread(target=pipe, args=(tls, backend), daemon=True).start()
        threading.Thread(target=pipe, args=(backend, tls), daemon=True).start()

    with _tls_server(certificate, relay) as relay_port:
        yield relay_port
