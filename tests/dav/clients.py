"""Real DAV clients for the tests (and bench/dav.py): the caldav library, vdirsyncer, Radicale.

`CardDavClient` runs the CardDAV flows through `caldav.DAVClient`: the pinned caldav (3.6) has
discovery (current-user-principal) but no address book objects, so the CardDAV requests go
through its generic `propfind` / `report` / `request` and are parsed here.
`Vdirsyncer` writes a config in a temporary folder and runs the CLI as a subprocess.
`RadicaleServer` starts Radicale on loopback: the harness was written against it first, and it is
the bench's baseline.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

D = "DAV:"
CARD = "urn:ietf:params:xml:ns:carddav"
XML_HEADER = '<?xml version="1.0" encoding="utf-8"?>\n'


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


# ---------------------------------------------------------------- vCards
def vcard(uid: str, full_name: str, *, email: str = "", extra: str = "", version: str = "3.0") -> str:
    """A small vCard with CRLF line ends, as clients send them."""
    given, _sep, family = full_name.partition(" ")
    lines = ["BEGIN:VCARD", f"VERSION:{version}", f"UID:{uid}", f"FN:{full_name}", f"N:{family};{given};;;"]
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{email}")
    if extra:
        lines.extend(extra.strip().splitlines())
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def card_property(text: str, name: str) -> list[str]:
    """The values of one property in a vCard text (unfolded; parameters dropped)."""
    unfolded = text.replace("\r\n ", "").replace("\n ", "").replace("\r\n\t", "").replace("\n\t", "")
    found = []
    for line in unfolded.splitlines():
        head, sep, value = line.partition(":")
        if not sep:
            continue
        prop = head.split(";", 1)[0].split(".")[-1].upper()
        if prop == name.upper():
            found.append(value)
    return found


# ---------------------------------------------------------------- multistatus
@dataclass
class PropStat:
    href: str  # path, unquoted
    status: int | None  # a response-level status (sync-collection removals), else None
    props: dict[str, ET.Element]  # property tag -> element, for the 200 propstat
    missing: dict[str, int]  # property tag -> status, for the other propstats


def _status_code(text: str | None) -> int:
    # "HTTP/1.1 200 OK"
    parts = (text or "").split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def parse_multistatus(body: bytes) -> tuple[list[PropStat], str | None]:
    """The responses of a 207 and the DAV:sync-token when there is one."""
    root = ET.fromstring(body)  # noqa: S314 - see the import
    if root.tag != q(D, "multistatus"):
        raise AssertionError(f"not a multistatus: {root.tag}")
    results = []
    for response in root.findall(q(D, "response")):
        href_el = response.find(q(D, "href"))
        href = unquote(urlsplit((href_el.text or "").strip()).path) if href_el is not None else ""
        status_el = response.find(q(D, "status"))
        props: dict[str, ET.Element] = {}
        missing: dict[str, int] = {}
        for propstat in response.findall(q(D, "propstat")):
            code = _status_code(propstat.findtext(q(D, "status")))
            for prop in propstat.find(q(D, "prop")) or []:
                if code == 200:
                    props[prop.tag] = prop
                else:
                    missing[prop.tag] = code
        results.append(
            PropStat(
                href=href,
                status=_status_code(status_el.text) if status_el is not None else None,
                props=props,
                missing=missing,
            )
        )
    token = root.findtext(q(D, "sync-token"))
    return results, token.strip() if token else None


def _href_in(prop: ET.Element | None) -> str | None:
    if prop is None:
        return None
    href = prop.find(q(D, "href"))
    return unquote(urlsplit(href.text.strip()).path) if href is not None and href.text else None


def _propfind_body(*props: tuple[str, str]) -> str:
    inner = "".join(f'<x:{name} xmlns:x="{ns}"/>' for ns, name in props)
    return f'{XML_HEADER}<d:propfind xmlns:d="DAV:"><d:prop>{inner}</d:prop></d:propfind>'


# ---------------------------------------------------------------- the caldav library
@dataclass
class Book:
    url: str
    displayname: str


@dataclass
class Card:
    url: str
    etag: str
    data: str


class CardDavClient:
    """The CardDAV flows of a client, on top of `caldav.DAVClient` (the pinned library)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        from caldav.davclient import DAVClient

        # auth_type: basic from the first request (the library otherwise waits for a 401 first).
        self.dav = DAVClient(url=url, username=username, password=password, auth_type="basic", timeout=30)
        self.username = username

    def close(self) -> None:
        self.dav.close()

    def abs(self, path: str) -> str:
        return urljoin(str(self.dav.url), path)

    # discovery ---------------------------------------------------------------
    def principal_url(self) -> str:
        """current-user-principal, found by the library's own discovery (RFC 5397)."""
        return str(self.dav.get_principal().url)

    def home_set(self) -> str:
        principal = self.principal_url()
        response = self.dav.propfind(principal, _propfind_body((CARD, "addressbook-home-set")), depth=0)
        self._expect(response, 207, "PROPFIND addressbook-home-set")
        results, _token = parse_multistatus(response._raw)
        home = _href_in(results[0].props.get(q(CARD, "addressbook-home-set")))
        if not home:
            raise AssertionError(f"no addressbook-home-set on {principal}: {response._raw!r}")
        return self.abs(home)

    def books(self, home: str | None = None) -> list[Book]:
        home = home or self.home_set()
        response = self.dav.propfind(
            home, _propfind_body((D, "resourcetype"), (D, "displayname"), (D, "sync-token")), depth=1
        )
        self._expect(response, 207, "PROPFIND Depth 1 on the home")
        results, _token = parse_multistatus(response._raw)
        books = []
        for result in results:
            kind = result.props.get(q(D, "resourcetype"))
            if kind is not None and kind.find(q(CARD, "addressbook")) is not None:
                name = result.props.get(q(D, "displayname"))
                books.append(Book(url=self.abs(result.href), displayname=(name.text or "") if name is not None else ""))
        return books

    # resources ---------------------------------------------------------------
    def request(self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None) -> Any:
        """Any request; AuthorizationError (the library's answer to 401/403) becomes a status."""
        from caldav.lib import error

        try:
            return self.dav.request(url, method, body, headers or {})
        except error.AuthorizationError as exc:
            return _Refused.of(exc)

    def put(self, url: str, text: str, *, if_match: str | None = None, create: bool = False) -> Any:
        headers = {"Content-Type": "text/vcard; charset=utf-8"}
        if if_match:
            headers["If-Match"] = if_match
        if create:
            headers["If-None-Match"] = "*"
        return self.request("PUT", url, text, headers)

    def get(self, url: str) -> Any:
        return self.request("GET", url, "", {"Accept": "text/vcard"})

    def delete(self, url: str, *, if_match: str | None = None) -> Any:
        return self.request("DELETE", url, "", {"If-Match": if_match} if if_match else {})

    def propfind(self, url: str, depth: int, *props: tuple[str, str]) -> Any:
        from caldav.lib import error

        body = _propfind_body(*(props or ((D, "getetag"), (D, "resourcetype"))))
        try:
            return self.dav.propfind(url, body, depth=depth)
        except error.AuthorizationError as exc:
            return _Refused.of(exc)

    def report(self, url: str, body: str, depth: int | None = 1) -> Any:
        from caldav.lib import error

        try:
            return self.dav.report(url, body, depth=depth)
        except error.AuthorizationError as exc:
            return _Refused.of(exc)

    def listing(self, book: str) -> dict[str, str]:
        """href -> etag of the cards in a book (PROPFIND Depth 1)."""
        response = self.propfind(book, 1, (D, "getetag"), (D, "resourcetype"))
        self._expect(response, 207, "PROPFIND Depth 1 on a book")
        results, _token = parse_multistatus(response._raw)
        own = unquote(urlsplit(book).path).rstrip("/")
        return {
            r.href: (r.props[q(D, "getetag")].text or "")
            for r in results
            if r.href.rstrip("/") != own and q(D, "getetag") in r.props
        }

    def multiget(self, book: str, hrefs: list[str]) -> dict[str, Card]:
        inner = "".join(f"<d:href>{h}</d:href>" for h in hrefs)
        body = (
            f'{XML_HEADER}<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="{CARD}">'
            f"<d:prop><d:getetag/><c:address-data/></d:prop>{inner}</c:addressbook-multiget>"
        )
        response = self.report(book, body, depth=1)
        self._expect(response, 207, "REPORT addressbook-multiget")
        return self._cards(response)

    def query_name(self, book: str, text: str) -> dict[str, Card]:
        """addressbook-query: FN contains `text` (case-insensitive collation)."""
        body = (
            f'{XML_HEADER}<c:addressbook-query xmlns:d="DAV:" xmlns:c="{CARD}">'
            "<d:prop><d:getetag/><c:address-data/></d:prop>"
            '<c:filter><c:prop-filter name="FN">'
            f'<c:text-match collation="i;unicode-casemap" match-type="contains">{text}</c:text-match>'
            "</c:prop-filter></c:filter></c:addressbook-query>"
        )
        response = self.report(book, body, depth=1)
        self._expect(response, 207, "REPORT addressbook-query")
        return self._cards(response)

    def sync(self, book: str, token: str = "") -> tuple[str, dict[str, str], set[str]]:
        """sync-collection (RFC 6578): (new token, changed href -> etag, removed hrefs)."""
        body = (
            f'{XML_HEADER}<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token>'
            "<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"
        )
        response = self.report(book, body, depth=None)
        self._expect(response, 207, "REPORT sync-collection")
        results, new_token = parse_multistatus(response._raw)
        if not new_token:
            raise AssertionError(f"sync-collection answered without a sync-token: {response._raw!r}")
        changed = {r.href: (r.props[q(D, "getetag")].text or "") for r in results if q(D, "getetag") in r.props}
        removed = {r.href for r in results if r.status == 404}
        return new_token, changed, removed

    def _cards(self, response: Any) -> dict[str, Card]:
        results, _token = parse_multistatus(response._raw)
        cards = {}
        for r in results:
            data = r.props.get(q(CARD, "address-data"))
            etag = r.props.get(q(D, "getetag"))
            if data is not None:
                cards[r.href] = Card(
                    url=self.abs(r.href), etag=(etag.text or "") if etag is not None else "", data=data.text or ""
                )
        return cards

    @staticmethod
    def _expect(response: Any, status: int, what: str) -> None:
        if response.status != status:
            raise AssertionError(f"{what}: {response.status} {getattr(response, '_raw', b'')[:2000]!r}")


@dataclass
class _Refused:
    """What `CardDavClient` returns where caldav raises AuthorizationError (401 or 403)."""

    status: int
    reason: str
    _raw: bytes = b""
    headers: dict[str, str] | None = None

    @classmethod
    def of(cls, exc: Any) -> _Refused:
        body = exc.body or b""
        return cls(status=exc.status or 0, reason=str(exc), _raw=body.encode() if isinstance(body, str) else body)


# ---------------------------------------------------------------- vdirsyncer
class Vdirsyncer:
    """vdirsyncer between a CardDAV account and a folder of .vcf files, as a user runs it."""

    def __init__(
        self, workdir: Path, *, url: str, username: str, password: str, conflict_resolution: str | None = None
    ) -> None:
        self.workdir = workdir
        self.local = workdir / "contacts"
        self.config = workdir / "config"
        self.local.mkdir(parents=True, exist_ok=True)
        resolution = f'conflict_resolution = "{conflict_resolution}"\n' if conflict_resolution else ""
        self.config.write_text(
            "[general]\n"
            f'status_path = "{workdir / "status"}"\n\n'
            "[pair contacts]\n"
            'a = "ruche"\n'
            'b = "local"\n'
            'collections = ["from a"]\n'
            f"{resolution}\n"
            "[storage ruche]\n"
            'type = "carddav"\n'
            f'url = "{url}"\n'
            f'username = "{username}"\n'
            f'password = "{password}"\n\n'
            "[storage local]\n"
            'type = "filesystem"\n'
            f'path = "{self.local}"\n'
            'fileext = ".vcf"\n',
            encoding="utf-8",
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        executable = Path(sys.executable).parent / "vdirsyncer"
        result = subprocess.run(
            [str(executable), "-c", str(self.config), *args],
            input="y\n" * 20,  # "create this collection locally?" on discover
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"vdirsyncer {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def discover(self) -> subprocess.CompletedProcess[str]:
        return self.run("discover")

    def sync(self, *, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("sync", check=check)

    def folder(self, collection: str) -> Path:
        return self.local / collection

    def files(self, collection: str) -> dict[str, str]:
        """file name -> text of the .vcf files of one synced collection."""
        folder = self.folder(collection)
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.vcf"))}


# ---------------------------------------------------------------- Radicale
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()[-3000:]}") from None
            time.sleep(0.05)


class RadicaleServer:
    """Radicale on loopback: htpasswd (plain) users, a temporary storage folder, owner-only rights."""

    def __init__(self, users: dict[str, str], directory: Path | None = None) -> None:
        self.directory = directory or Path(tempfile.mkdtemp(prefix="ruche-radicale-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.users = users
        self.process: subprocess.Popen[bytes] | None = None
        self.log = self.directory / "radicale.log"

    def start(self) -> RadicaleServer:
        users = self.directory / "users"
        users.write_text("".join(f"{name}:{pw}\n" for name, pw in self.users.items()), encoding="utf-8")
        config = self.directory / "config"
        config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "max_content_length = 100000000\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            "delay = 0\n"
            "[rights]\n"
            "type = owner_only\n"
            "[storage]\n"
            f"filesystem_folder = {self.directory / 'collections'}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = warning\n",
            encoding="utf-8",
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "radicale", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        wait_for_port(self.port, self.process, self.log)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def mkcol_addressbook_body(displayname: str) -> str:
    """Extended MKCOL (RFC 5689) of an address book, as RFC 6352 section 6.3.1 shows."""
    return (
        f'{XML_HEADER}<d:mkcol xmlns:d="DAV:" xmlns:c="{CARD}"><d:set><d:prop>'
        f"<d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>"
        f"<d:displayname>{displayname}</d:displayname></d:prop></d:set></d:mkcol>"
    )


def new_uid() -> str:
    return str(uuid.uuid4())
