"""The ManageSieve adapter against the real Dovecot/Pigeonhole, and its response parser on raw bytes."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from apps.mail.sieve import (
    SieveCommandError,
    SieveConnection,
    SieveConnectionError,
    SieveLoginError,
    SieveScriptError,
    SieveSettings,
    _final,
    _Reader,
    parse_line,
    sieve_check,
    sieve_string,
)


def settings_for(mailstack: Any, user: Any, *, password: str | None = None, security: str = "none") -> SieveSettings:
    return SieveSettings(
        host=mailstack.host,
        port=mailstack.ports.sieve,
        security=security,
        username=user.address,
        password=password if password is not None else user.password,
    )


def reader_for(data: bytes) -> _Reader:
    ours, theirs = socket.socketpair()
    theirs.sendall(data)
    theirs.close()
    return _Reader(ours, 2.0)


# ---------------------------------------------------------------- parsing
def test_a_response_line_with_a_code_and_quoted_text_is_read_in_parts() -> None:
    final = _final(parse_line(reader_for(b'NO (NONEXISTENT) "Script \\"x\\" not found"\r\n')))
    assert final is not None
    assert (final.status, final.code, final.text) == ("NO", "NONEXISTENT", 'Script "x" not found')


def test_a_literal_is_read_whole_with_its_line_breaks() -> None:
    reader = reader_for(b"NO {27}\r\nline 1: error\r\nline 2: more\r\n")
    final = _final(parse_line(reader))
    assert final is not None
    assert final.text == "line 1: error\r\nline 2: more"


def test_a_quoted_ok_is_data_not_the_end_of_a_response() -> None:
    tokens = parse_line(reader_for(b'"OK" ACTIVE\r\n'))
    assert _final(tokens) is None
    assert tokens == ["OK", "ACTIVE"]


def test_response_codes_with_arguments_are_kept() -> None:
    final = _final(parse_line(reader_for(b'OK (TAG "a1") "done"\r\n')))
    assert final is not None
    assert (final.code, final.code_args) == ("TAG", ("a1",))


def test_strings_are_quoted_with_escapes_or_sent_as_literals() -> None:
    assert sieve_string('a "b" \\c') == b'"a \\"b\\" \\\\c"'
    assert sieve_string("two\r\nlines") == b"{10+}\r\ntwo\r\nlines"
    assert sieve_string("é") == b'"\xc3\xa9"'
    assert sieve_string("x" * 2000).startswith(b"{2000+}\r\n")


# ---------------------------------------------------------------- the real server
def test_greeting_check_names_the_implementation(mailstack: Any) -> None:
    assert "Pigeonhole" in sieve_check(mailstack.host, mailstack.ports.sieve)


def test_scripts_round_trip_through_the_server(mailstack: Any, mail_user: Any) -> None:
    script = 'require ["fileinto"];\r\n# "quoted" \\ é\r\nif header :contains "subject" "x" { fileinto "A/B"; }\r\n'
    with SieveConnection(settings_for(mailstack, mail_user)) as sieve:
        assert {"fileinto", "vacation", "imap4flags"} <= sieve.extensions
        assert sieve.list_scripts() == []
        sieve.check_script(script)
        sieve.put_script('odd "name" \\', script)
        sieve.put_script("second", "keep;\r\n")
        sieve.set_active('odd "name" \\')
        assert sieve.get_script('odd "name" \\') == script
        assert sieve.active_script() == 'odd "name" \\'
        assert sorted((s.name, s.active) for s in sieve.list_scripts()) == [('odd "name" \\', True), ("second", False)]
        sieve.set_active("")
        sieve.delete_script("second")
        assert [s.name for s in sieve.list_scripts()] == ['odd "name" \\']
        assert sieve.active_script() is None


def test_a_script_that_does_not_compile_surfaces_the_servers_words(mailstack: Any, mail_user: Any) -> None:
    with SieveConnection(settings_for(mailstack, mail_user)) as sieve:
        with pytest.raises(SieveScriptError) as caught:
            sieve.put_script("bad", "keep;\r\nfrobnicate;\r\n")
        assert "frobnicate" in caught.value.text
        assert "line 2" in caught.value.text
        assert "refused the script" in str(caught.value)
        with pytest.raises(SieveScriptError):
            sieve.check_script('fileinto "x";')  # fileinto without require
        assert sieve.list_scripts() == []


def test_a_missing_script_is_a_command_error_with_its_code(mailstack: Any, mail_user: Any) -> None:
    with SieveConnection(settings_for(mailstack, mail_user)) as sieve:
        with pytest.raises(SieveCommandError, match="not found") as caught:
            sieve.get_script("nope")
        assert caught.value.code == "NONEXISTENT"


def test_a_wrong_password_is_a_login_error_without_the_password(mailstack: Any, mail_user: Any) -> None:
    with pytest.raises(SieveLoginError) as caught:
        SieveConnection(settings_for(mailstack, mail_user, password="wrong-secret")).open()
    assert "wrong-secret" not in str(caught.value)
    assert mail_user.address in str(caught.value)


def test_starttls_asked_for_but_not_offered_is_refused_before_the_password_goes_out(
    mailstack: Any, mail_user: Any
) -> None:
    with pytest.raises(SieveConnectionError, match="does not offer STARTTLS"):
        SieveConnection(settings_for(mailstack, mail_user, security="starttls")).open()


def test_nothing_listening_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SieveConnectionError, match="Cannot connect"):
        SieveConnection(SieveSettings(host="127.0.0.1", port=port, security="none", username="u", password="p")).open()
