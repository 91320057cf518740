"""A real OpenLDAP server for the directory's tests: Debian's slapd through deploy/ldap/start.sh.

Fixtures (registered by tests/contacts/conftest.py):
* `ldap_server` (session): one private slapd per test worker, in /tmp/rldap-XXXXXX on a free
  loopback port, stopped and removed at the end of the session.
* `ldap_branch`: a fresh organisational unit under the base for one test, with helpers to add,
  change and remove people, and the `LdapConfig` that reads only that branch.
Without slapd the tests are skipped (failed under RUCHE_TEST_REQUIRE_ALL=1).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE, Connection, Server  # type: ignore[import-untyped]

from apps.contacts.ldap import LdapConfig

BASE_DIR = Path(__file__).resolve().parent.parent
SCRIPTS = BASE_DIR / "deploy" / "ldap"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MAP = {
    "username": "uid",
    "email": "mail",
    "first_name": "givenName",
    "last_name": "sn",
    "display_name": "displayName",
    "phone": "telephoneNumber",
    "job_title": "title",
}


@dataclass(frozen=True)
class LdapServer:
    dir: Path
    url: str
    base_dn: str
    bind_dn: str
    bind_password: str = field(repr=False)
    ca_file: str = ""

    def admin(self) -> Connection:
        return Connection(Server(self.url), self.bind_dn, self.bind_password, auto_bind=True, raise_exceptions=True)


@dataclass
class LdapBranch:
    server: LdapServer
    dn: str
    conn: Connection

    def person_dn(self, uid: str) -> str:
        return f"uid={uid},{self.dn}"

    def add_person(self, uid: str, **attributes: Any) -> str:
        attributes.setdefault("sn", uid)
        attributes.setdefault("cn", uid)
        dn = self.person_dn(uid)
        self.conn.add(dn, ["inetOrgPerson"], {"uid": uid, **attributes})
        return dn

    def change(self, uid: str, **attributes: Any) -> None:
        changes = {
            name: [(MODIFY_DELETE, [])] if value is None else [(MODIFY_REPLACE, [value])]
            for name, value in attributes.items()
        }
        self.conn.modify(self.person_dn(uid), changes)

    def remove(self, uid: str) -> None:
        self.conn.delete(self.person_dn(uid))

    def config(self, **overrides: Any) -> LdapConfig:
        values: dict[str, Any] = {
            "url": self.server.url,
            "base_dn": self.dn,
            "bind_dn": self.server.bind_dn,
            "bind_password": self.server.bind_password,
            "attributes": dict(DEFAULT_MAP),
            "timeout": 5,
        }
        values.update(overrides)
        return LdapConfig(**values)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / script), *args],
        env={"PATH": SBIN_PATH},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    if not shutil.which("slapd", path=SBIN_PATH) or not shutil.which("ldapsearch", path=SBIN_PATH):
        from tests.conftest import missing_service

        missing_service("slapd and ldap-utils are not installed (bash deploy/install-test-packages.sh)")
    directory = Path(tempfile.mkdtemp(prefix="rldap-", dir="/tmp"))
    try:
        for _attempt in range(3):
            result = _run("start.sh", str(directory), str(_free_port()))
            if result.returncode == 0 or "already in use" not in result.stderr:
                break
        if result.returncode != 0:
            pytest.fail(f"slapd did not start:\n{result.stdout}{result.stderr}")
        values = _read_env(directory / "ldap.env")
        yield LdapServer(
            dir=directory,
            url=values["LDAP_URL"],
            base_dn=values["LDAP_BASE_DN"],
            bind_dn=values["LDAP_BIND_DN"],
            bind_password=values["LDAP_BIND_PASSWORD"],
            ca_file=values["LDAP_CA_FILE"],
        )
    finally:
        _run("stop.sh", str(directory))
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def ldap_branch(ldap_server: LdapServer) -> Iterator[LdapBranch]:
    conn = ldap_server.admin()
    dn = f"ou=t{secrets.token_hex(4)},ou=people,{ldap_server.base_dn}"
    conn.add(dn, ["organizationalUnit"])
    try:
        yield LdapBranch(server=ldap_server, dn=dn, conn=conn)
    finally:
        conn.unbind()
