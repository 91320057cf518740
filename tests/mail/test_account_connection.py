"""The connection test names the layer that failed, against the real Dovecot and Postfix."""

from __future__ import annotations

import socket

import pytest

from apps.mail import diagnostics
from apps.mail.diagnostics import check_imap, check_sieve, check_smtp
from apps.mail.imap import ImapSettings
from apps.mail.sieve import sieve_check
from apps.mail.smtp import SmtpLoginError, SmtpSettings, smtp_check_login
from tests.mail.tls_server import make_certificate, tls_listener
from tests.mailstack import MailStack, MailUser


def imap(stack: MailStack, user: MailUser, **changes) -> ImapSettings:
    values = {
        "host": stack.host,
        "port": stack.ports.imap,
        "security": "none",
        "username": user.address,
        "password": user.password,
    }
    return ImapSettings(**{**values, **changes})


def smtp(stack: MailStack, user: MailUser, **changes) -> SmtpSettings:
    values = {
        "host": stack.host,
        "port": stack.ports.submission,
        "security": "none",
        "username": user.address,
        "password": user.password,
    }
    return SmtpSettings(**{**values, **changes})


@pytest.fixture
def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- IMAP
def test_imap_check_succeeds_for_a_fresh_mailbox(mailstack, mail_user) -> None:
    outcome = check_imap(imap(mailstack, mail_user))

    assert outcome.ok, outcome.message
    assert outcome.problem == ""


def test_imap_check_with_a_wrong_password_says_authentication_failed(mailstack, mail_user) -> None:
    outcome = check_imap(imap(mailstack, mail_user, password="not-the-password"))

    assert not outcome.ok
    assert outcome.problem == diagnostics.AUTH
    assert "refused the username or password" in outcome.message
    assert "not-the-password" not in outcome.message


def test_imap_check_on_a_closed_port_says_connection_refused(mailstack, mail_user, closed_port) -> None:
    outcome = check_imap(imap(mailstack, mail_user, port=closed_port))

    assert outcome.problem == diagnostics.REFUSED
    assert "refused the connection" in outcome.message
    assert str(closed_port) in outcome.message


def test_imap_check_of_a_name_that_does_not_resolve_says_dns(mailstack, mail_user) -> None:
    outcome = check_imap(imap(mailstack, mail_user, host="no-such-host.invalid"))

    assert outcome.problem == diagnostics.DNS
    assert "does not resolve (DNS)" in outcome.message
    assert "no-such-host.invalid" in outcome.message


def test_imap_check_with_tls_on_a_plain_port_says_the_port_does_not_speak_tls(mailstack, mail_user) -> None:
    outcome = check_imap(imap(mailstack, mail_user, security="tls"))

    assert outcome.problem == diagnostics.TLS
    assert "does not speak TLS on this port" in outcome.message


def test_imap_check_with_starttls_on_a_server_without_it_says_starttls_is_missing(mailstack, mail_user) -> None:
    # The test Dovecot has no certificate, so it offers no STARTTLS.
    outcome = check_imap(imap(mailstack, mail_user, security="starttls"))

    assert outcome.problem == diagnostics.STARTTLS
    assert "does not offer STARTTLS" in outcome.message


def test_imap_check_against_an_untrusted_certificate_says_certificate(mail_user, mailstack, tmp_path) -> None:
    certificate = make_certificate(tmp_path, ["localhost"])
    with tls_listener(certificate) as port:
        outcome = check_imap(imap(mailstack, mail_user, host="localhost", port=port, security="tls"))

    assert outcome.problem == diagnostics.CERTIFICATE
    assert "certificate of localhost could not be verified" in outcome.message


def test_plain_start_on_a_port_that_waits_for_tls_says_choose_tls(mailstack, mail_user, tmp_path) -> None:
    certificate = make_certificate(tmp_path, ["localhost"])
    with tls_listener(certificate) as port:
        outcome = check_imap(imap(mailstack, mail_user, host="127.0.0.1", port=port, security="none"), timeout=1.0)

    assert outcome.problem == diagnostics.NO_GREETING
    assert "expects TLS" in outcome.message


# ---------------------------------------------------------------- SMTP submission
def test_smtp_login_works_on_the_submission_port(mailstack, mail_user) -> None:
    smtp_check_login(smtp(mailstack, mail_user))

    assert check_smtp(smtp(mailstack, mail_user)).ok


def test_smtp_with_a_wrong_password_says_authentication_failed(mailstack, mail_user) -> None:
    with pytest.raises(SmtpLoginError):
        smtp_check_login(smtp(mailstack, mail_user, password="nope-nope"))

    outcome = check_smtp(smtp(mailstack, mail_user, password="nope-nope"))
    assert outcome.problem == diagnostics.AUTH


def test_smtp_on_the_relay_port_says_it_offers_no_login(mailstack, mail_user) -> None:
    outcome = check_smtp(smtp(mailstack, mail_user, port=mailstack.ports.smtp))

    assert outcome.problem == diagnostics.AUTH_UNAVAILABLE
    assert "submission port" in outcome.message


def test_smtp_with_starttls_on_a_server_without_it_says_starttls_is_missing(mailstack, mail_user) -> None:
    outcome = check_smtp(smtp(mailstack, mail_user, security="starttls"))

    assert outcome.problem == diagnostics.STARTTLS


def test_smtp_on_a_closed_port_says_connection_refused(mailstack, mail_user, closed_port) -> None:
    outcome = check_smtp(smtp(mailstack, mail_user, port=closed_port))

    assert outcome.problem == diagnostics.REFUSED


def test_smtp_with_tls_on_a_plain_port_says_the_port_does_not_speak_tls(mailstack, mail_user) -> None:
    outcome = check_smtp(smtp(mailstack, mail_user, security="tls"))

    assert outcome.problem == diagnostics.TLS


# ---------------------------------------------------------------- ManageSieve
def test_sieve_check_reads_the_managesieve_greeting(mailstack) -> None:
    assert "Pigeonhole" in sieve_check(mailstack.host, mailstack.ports.sieve)
    assert check_sieve(mailstack.host, mailstack.ports.sieve).ok


def test_sieve_check_on_the_imap_port_says_it_is_not_managesieve(mailstack) -> None:
    outcome = check_sieve(mailstack.host, mailstack.ports.imap)

    assert outcome.problem == diagnostics.PROTOCOL
    assert "not a ManageSieve server" in outcome.message


def test_sieve_check_on_a_closed_port_says_connection_refused(mailstack, closed_port) -> None:
    assert check_sieve(mailstack.host, closed_port).problem == diagnostics.REFUSED
