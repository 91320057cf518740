"""The real mail stack for tests: Dovecot + Postfix from deploy/mailstack, one per test worker.

Fixtures:
* `mailstack` (session): the worker's own stack, started in a private /tmp/rmst-XXXXXX directory
  on free ports, stopped and removed at the end of the session. Each pytest-xdist worker starts
  its own, so no worker ever sees another's mailboxes.
* `make_mail_user()` / `mail_user`: a fresh mailbox with a random address for the test.

Tests that use them get the `mailstack` marker automatically. Without root or without Dovecot and
Postfix, they are skipped (failed under RUCHE_TEST_REQUIRE_ALL=1).
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

BASE_DIR = Path(__file__).resolve().parent.parent
SCRIPTS = BASE_DIR / "deploy" / "mailstack"
HOST = "127.0.0.1"
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
USER_BATCH = 25
_timings: dict[str, float] = {}


@dataclass(frozen=True)
class MailUser:
    address: str
    password: str = field(repr=False)

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]


@dataclass(frozen=True)
class MailPorts:
    imap: int
    smtp: int
    submission: int
    sieve: int
    lmtp: int
    auth: int


@dataclass
class MailStack:
    dir: Path
    ports: MailPorts
    domain: str
    users: dict[str, MailUser]  # the ones setup.sh created (alice, bob, carol, sink)
    host: str = HOST
    _pool: list[MailUser] = field(default_factory=list, repr=False)

    @property
    def env_file(self) -> Path:
        return self.dir / "mailstack.env"

    @property
    def users_file(self) -> Path:
        return self.dir / "etc" / "dovecot" / "users"

    def add_user(self, local_part: str | None = None, password: str | None = None) -> MailUser:
        """A mailbox no other test has used. Without arguments it comes from a batch made in advance."""
        if local_part is None and password is None:
            if not self._pool:
                self._pool = self._append_users([(None, None)] * USER_BATCH)
            return self._pool.pop()
        return self._append_users([(local_part, password)])[0]

    def _append_users(self, wanted: list[tuple[str | None, str | None]]) -> list[MailUser]:
        """Appends mailboxes to Dovecot's passwd-file and waits until Dovecot knows them.

        Dovecot rereads the file when it changes, but checks at most once per second: a login in
        the same second as the previous lookup would not see the new line yet. Hence the batches.
        """
        users = []
        for local_part, password in wanted:
            address = f"{local_part or f't{secrets.token_hex(6)}'}@{self.domain}"
            users.append(MailUser(address=address, password=password or secrets.token_urlsafe(12)))
        with self.users_file.open("a", encoding="utf-8") as handle:
            handle.writelines(f"{user.address}:{{PLAIN}}{user.password}::::::\n" for user in users)
        deadline = time.monotonic() + 5
        while not self._user_exists(users[-1].address):
            if time.monotonic() > deadline:
                raise AssertionError(f"Dovecot does not see the new user {users[-1].address}")
            time.sleep(0.05)
        return users

    def _user_exists(self, address: str) -> bool:
        # A userdb lookup has no failure delay (a failed IMAP login waits 2 s).
        doveadm = shutil.which("doveadm", path=SBIN_PATH) or "doveadm"
        conf = self.dir / "etc" / "dovecot" / "dovecot.conf"
        result = subprocess.run(
            [doveadm, "-c", str(conf), "user", "-f", "uid", address], capture_output=True, check=False
        )
        return result.returncode == 0

    def imap(self, user: MailUser) -> IMAPClient:
        client = IMAPClient(self.host, port=self.ports.imap, ssl=False, timeout=30)
        client.login(user.address, user.password)
        return client

    def wait_for_message(
        self, user: MailUser, criteria: list[Any], *, folder: str = "INBOX", timeout: float = 30
    ) -> EmailMessage:
        """Polls the folder until a message matches the IMAP SEARCH criteria; returns it parsed.

        Delivery goes Postfix → LMTP asynchronously, so the message appears a moment after SMTP accepts it.
        """
        client = self.imap(user)
        try:
            deadline = time.monotonic() + timeout
            while True:
                client.select_folder(folder, readonly=True)
                uids = client.search(criteria)
                if uids:
                    raw = client.fetch(uids[-1:], ["BODY.PEEK[]"])[uids[-1]][b"BODY[]"]
                    message = email.message_from_bytes(raw, policy=email.policy.default)
                    assert isinstance(message, EmailMessage)
                    return message
                if time.monotonic() > deadline:
                    raise AssertionError(f"no message matching {criteria} in {user.address}/{folder}")
                time.sleep(0.1)
        finally:
            client.logout()


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open until every port is chosen, so the kernel hands out distinct ones.
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip().strip('"')
    return values


def _stack_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the mail stack needs root (Postfix's master runs as root)"
    missing = [tool for tool in ("dovecot", "postfix") if not shutil.which(tool, path=SBIN_PATH)]
    if missing:
        return f"{' and '.join(missing)} not installed (bash deploy/install-test-packages.sh)"
    return None


def _start(directory: Path) -> MailStack:
    log = directory.parent / f"{directory.name}-setup.log"
    for _attempt in range(3):
        imap, smtp, submission, sieve, lmtp, auth = _free_ports(6)
        env = {
            **os.environ,
            "PATH": f"{os.environ.get('PATH', '')}:{SBIN_PATH}",
            "IMAP_PORT": str(imap),
            "SMTP_PORT": str(smtp),
            "SUBMISSION_PORT": str(submission),
            "SIEVE_PORT": str(sieve),
            "LMTP_PORT": str(lmtp),
            "AUTH_PORT": str(auth),
        }
        # Output to a file, never a pipe: the daemons would inherit the pipe and keep it open.
        with log.open("w") as out:
            result = subprocess.run(
                ["bash", str(SCRIPTS / "setup.sh"), str(directory)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        if result.returncode == 0:
            break
        if "already in use" not in log.read_text():  # another program took a port: try other ones
            break
    else:
        pytest.fail(f"the mail stack did not start (ports kept being taken):\n{log.read_text()[-2000:]}")
    if result.returncode != 0:
        pytest.fail(f"the mail stack did not start:\n{log.read_text()[-3000:]}")
    log.unlink()
    values = _read_env(directory / "mailstack.env")
    domain = values["MAIL_DOMAIN"]
    users = {}
    for pair in values["MAIL_USERS"].split():
        name, _, password = pair.partition(":")
        users[name] = MailUser(address=f"{name}@{domain}", password=password)
    return MailStack(
        dir=directory,
        ports=MailPorts(imap=imap, smtp=smtp, submission=submission, sieve=sieve, lmtp=lmtp, auth=auth),
        domain=domain,
        users=users,
    )


def _stop(directory: Path) -> None:
    subprocess.run(
        ["bash", str(SCRIPTS / "stop.sh"), str(directory)],
        env={**os.environ, "PATH": f"{os.environ.get('PATH', '')}:{SBIN_PATH}"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="session")
def mailstack() -> Iterator[MailStack]:
    reason = _stack_unavailable_reason()
    if reason:
        from tests.conftest import missing_service

        missing_service(reason)
    # Not pytest's tmp_path: /tmp/pytest-of-root is 0700 and Dovecot's `vmail` must walk into DIR.
    directory = Path(tempfile.mkdtemp(prefix="rmst-", dir="/tmp"))
    directory.chmod(0o755)
    started = time.monotonic()
    try:
        stack = _start(directory)
    except BaseException:
        _stop(directory)
        shutil.rmtree(directory, ignore_errors=True)
        raise
    _timings["start"] = time.monotonic() - started
    try:
        yield stack
    finally:
        stopping = time.monotonic()
        _stop(directory)
        _timings["stop"] = time.monotonic() - stopping
        if os.environ.get("RUCHE_KEEP_MAILSTACK") != "1":
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def make_mail_user(mailstack: MailStack) -> Callable[..., MailUser]:
    """Creates fresh mailboxes: `make_mail_user()` or `make_mail_user(local_part="x")`."""
    return mailstack.add_user


@pytest.fixture
def mail_user(make_mail_user: Callable[..., MailUser]) -> MailUser:
    return make_mail_user()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "mailstack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mailstack)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Only seen without xdist (workers' summaries are not shown); enough to keep an eye on it.
    if "start" in _timings:
        stop = f", stop {_timings['stop']:.2f} s" if "stop" in _timings else ""
        terminalreporter.write_line(f"mail stack: start {_timings['start']:.2f} s{stop}")
