"""Reading UID FETCH answers (apps.mail.imap_read) and parsing them (imap_parse.parse_fetch_response).

Both are fast paths of the sync: each is checked here against the slower reference it replaced,
on bytes from a scripted server, including malformed and hostile answers.
"""

from __future__ import annotations

import imaplib
import random
import socket
import threading
from collections.abc import Iterable
from typing import Any

import pytest

from apps.mail.imap_parse import _ATOM, _CLOSE, _OPEN, _QUOTED, _pairs, _tokens, _unquote, parse_fetch_response
from apps.mail.imap_read import fetch_complete


# ---------------------------------------------------------------- the parser
def _reference_parse(lines: Iterable[Any]) -> list[dict[bytes, Any]]:
    """The parser before its fast path: the generic tokenizer, one token at a time."""
    messages: list[dict[bytes, Any]] = []
    depth = 0
    stack: list[list[Any]] = []
    current: list[Any] = []
    for kind, value in _tokens(lines):
        if kind == _OPEN:
            child: list[Any] = []
            if depth:
                current.append(child)
                stack.append(current)
            current = child
            depth += 1
        elif kind == _CLOSE:
            if depth == 0:
                continue
            depth -= 1
            if depth == 0:
                messages.append(_pairs(current))
                current = []
            else:
                current = stack.pop()
        elif depth == 0:
            continue
        elif kind == _QUOTED:
            current.append(_unquote(value) if b"\\" in value else value)
        elif kind == _ATOM:
            current.append(None if value == b"NIL" else value)
        else:
            current.append(value)
    return messages


HEADER = b"From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n"
TYPICAL = [
    (
        b"1 (UID 11 FLAGS (\\Seen \\Recent $Label) MODSEQ (21) RFC822.SIZE 2399 "
        b'INTERNALDATE "13-Oct-2026 11:31:21 +0000" '
        b'BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("application" "pdf" '
        b'("name" "r.pdf") NIL NIL "base64" 900 NIL ("attachment" ("filename" "r.pdf")) NIL NIL) "mixed" '
        b'("boundary" "b") NIL NIL NIL) BODY[HEADER.FIELDS (FROM SUBJECT)] {%d}' % len(HEADER),
        HEADER,
    ),
    b")",
    b'2 (UID 12 FLAGS () RFC822.SIZE 5 INTERNALDATE "13-Oct-2026 11:31:21 +0000" BODY[HEADER.FIELDS (FROM)] "")',
]


def test_the_fast_parser_reads_typical_fetch_answers_as_the_reference_does() -> None:
    parsed = parse_fetch_response(TYPICAL)

    assert parsed == _reference_parse(TYPICAL)
    first, second = parsed
    assert first[b"UID"] == b"11"
    assert first[b"FLAGS"] == [b"\\Seen", b"\\Recent", b"$Label"]
    assert first[b"BODYSTRUCTURE"][1][8] == [b"attachment", [b"filename", b"r.pdf"]]
    assert first[b"BODY[HEADER.FIELDS (FROM SUBJECT)]"] == HEADER
    assert second[b"BODY[HEADER.FIELDS (FROM)]"] == b""  # an empty quoted string is a value, not nothing


@pytest.mark.parametrize(
    "lines",
    [
        [b'1 (UID 1 X "unterminated)'],  # an unterminated quote
        [b"1 (UID 1 BODY[] {5}"],  # a literal announced but not sent
        [(b"1 (UID 1 BODY[]", b"data sent without its marker"), b")"],
        [b") ) 1 (UID 2))"],  # stray closing parentheses
        [b"1 (UID 3 FLAGS (\\Seen"],  # a list never closed
        [b'1 (UID 4 X "a\\"b\\\\c" Y {3+}', b"xyz"],  # escapes; a non-synchronising marker
        [(b"1 (UID 5 BODY[] {3}", b"abc"), (b" BODY[1] {2}", b"de"), b")"],  # two literals
        [b"1 (UID 6 ODD)", b"1 (UID)"],  # a key without a value
        [b"1 (UID 7 \x00\xff [weird] <1> {x} \t NIL)"],
        [None, b"", (None, b"ignored"), b"1 (UID 8)"],
    ],
)
def test_malformed_fetch_answers_are_read_as_the_reference_reads_them(lines: list[Any]) -> None:
    assert parse_fetch_response(lines) == _reference_parse(lines)


def test_random_damage_to_fetch_answers_never_changes_what_is_read() -> None:
    rng = random.Random(20261201)
    specials = [b"(", b")", b'"', b"\\", b"{", b"}", b"{5}", b"[", b"]", b" ", b"\t", b"NIL", b"<1>", b"\x00", b"\xff"]
    for _trial in range(3000):
        lines: list[Any] = []
        for item in rng.sample(TYPICAL, k=rng.randint(1, 3)):
            text, literal = item if isinstance(item, tuple) else (item, None)
            damaged = bytearray(text)
            for _edit in range(rng.randint(0, 4)):
                at = rng.randint(0, len(damaged))
                if rng.random() < 0.6:
                    damaged[at:at] = rng.choice(specials)
                else:
                    del damaged[at : at + rng.randint(1, 6)]
            lines.append((bytes(damaged), literal) if literal is not None else bytes(damaged))

        assert parse_fetch_response(lines) == _reference_parse(lines), lines


# ---------------------------------------------------------------- the reader
class _ScriptedServer:
    """A one-connection IMAP server on localhost: greets, answers CAPABILITY, then answers each
    command with the bytes the test gives for it, `{tag}` replaced by the command's tag; with
    `hang_up` it closes the connection after the last answer."""

    def __init__(self, answers: list[bytes], *, hang_up: bool = False) -> None:
        self.answers = [b"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n", *answers]
        self.hang_up = hang_up
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _address = self.listener.accept()
        with connection:
            reader = connection.makefile("rb")
            connection.sendall(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
            for answer in self.answers:
                line = reader.readline()
                if not line:
                    return
                tag = line.split(b" ", 1)[0]
                connection.sendall(answer.replace(b"{tag}", tag))
            if not self.hang_up:
                reader.readline()  # the client going away

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=5)


def _read(
    answer: bytes, *, fast: bool, hang_up: bool = False
) -> tuple[str, list[Any], list[Any], dict[str, list[Any]]]:
    """Sends one UID FETCH to a scripted server; returns (type, data, FETCH data, other untagged)."""
    server = _ScriptedServer([answer], hang_up=hang_up)
    imap = imaplib.IMAP4("127.0.0.1", server.port, timeout=5)
    imap.state = "SELECTED"
    try:
        tag = imap._command("UID", "FETCH", "1:*", "(UID)")
        if fast:
            typ, data, lines = fetch_complete(imap, "FETCH", tag)
        else:
            typ, data = imap._command_complete("FETCH", tag)
            _typ, lines = imap._untagged_response(typ, data, "FETCH")
        others = {name: list(values) for name, values in imap.untagged_responses.items() if name != "FETCH"}
        return typ, data, lines, others
    finally:
        imap.shutdown()
        server.close()


@pytest.mark.parametrize(
    "answer",
    [
        b"* 1 FETCH (UID 1 BODY[HEADER] {10}\r\nSubject:\r\n)\r\n"
        b"* 2 FETCH (UID 2 BODY[HEADER] {0}\r\n BODY[1] {3}\r\nabc)\r\n"
        b"{tag} OK done\r\n",
        # Other responses in the middle: EXISTS, VANISHED, a response code,
        # a FETCH with nothing after it, a literal holding CRLF and what looks like a FETCH.
        b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n"
        b"* 5 EXISTS\r\n"
        b"* VANISHED (EARLIER) 3:4\r\n"
        b"* OK [HIGHESTMODSEQ 99] fine\r\n"
        b"* 3 FETCH\r\n"
        b"* 4 FETCH (UID 4 BODY[] {22}\r\nx\r\n* 9 FETCH (UID 9)\r\n)\r\n"
        b"{tag} OK done\r\n",
        b"{tag} OK nothing\r\n",
    ],
)
def test_the_fast_reader_returns_what_imaplib_returns(answer: bytes) -> None:
    typ, data, lines, others = _read(answer, fast=True)
    slow_typ, slow_data, slow_lines, slow_others = _read(answer, fast=False)

    assert (typ, data, others) == (slow_typ, slow_data, slow_others)
    assert lines == [line for line in slow_lines if line is not None]  # imaplib says [None] for none
    assert parse_fetch_response(lines) == parse_fetch_response(slow_lines)


def test_a_refused_fetch_leaves_its_data_as_imaplib_does() -> None:
    typ, _data, lines, _others = _read(b"* 1 FETCH (UID 1)\r\n{tag} NO busy\r\n", fast=True)

    assert typ == "NO"
    assert lines == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"* 1 FETCH (UID 1 BODY[] {50}\r\nshort", imaplib.IMAP4.abort),  # the connection drops mid-literal
        (b"* 1 FETCH (UID 1)\r\n", imaplib.IMAP4.abort),  # ... or before the tagged answer
        (b"* BYE going away\r\n", imaplib.IMAP4.abort),
        (b"* 2 fetch (UID 2)\r\n{tag} OK done\r\n", imaplib.IMAP4.abort),  # imaplib refuses it too
        (b"{tag} BAD what\r\n", imaplib.IMAP4.error),
    ],
)
def test_a_broken_answer_raises_imaplibs_own_errors(answer: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as fast:
        _read(answer, fast=True, hang_up=True)
    with pytest.raises(error) as slow:
        _read(answer, fast=False, hang_up=True)

    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


def _many_messages(count: int) -> bytes:
    header = b"Subject: x\r\n\r\n"
    fetch = b"* %d FETCH (UID %d FLAGS () BODY[HEADER] {%d}\r\n%s)\r\n"
    return b"".join(fetch % (n, n, len(header), header) for n in range(1, count + 1)) + b"{tag} OK done\r\n"


def test_a_long_answer_crossing_many_socket_reads_is_read_whole() -> None:
    _typ, _data, lines, _others = _read(_many_messages(3000), fast=True)

    parsed = parse_fetch_response(lines)
    assert [message[b"UID"] for message in parsed] == [b"%d" % n for n in range(1, 3001)]
