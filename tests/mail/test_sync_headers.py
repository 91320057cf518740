"""The lean header reader of the sync (apps.mail.headers): index fields from hostile header blocks."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest

from apps.mail.headers import (
    EARLIEST,
    FUTURE_SLACK,
    MAX_SUBJECT,
    addresses,
    has_attachments,
    index_headers,
    parse_date,
    parse_internaldate,
    parsed_addresses,
    split_header_block,
)


def test_folded_headers_are_unfolded_and_the_first_occurrence_wins() -> None:
    fields = split_header_block(b"Subject: one\r\n two\r\nSubject: second\r\nnot a header\r\nX: y\r\n\r\n")

    assert fields[b"subject"] == b"one two"
    assert fields[b"x"] == b"y"


def test_index_fields_are_read_from_a_typical_block() -> None:
    headers = index_headers(
        b"From: =?utf-8?q?Chlo=C3=A9?= Martin <chloe@example.org>\r\n"
        b"To: Bob <bob@example.test>, carol@example.test\r\n"
        b'Cc: "Dupont, Jean" <jean@example.net>\r\n'
        b"Subject: =?iso-8859-1?q?R=E9union?= de projet\r\n"
        b"Date: Tue, 03 Feb 2026 10:00:00 +0100\r\n"
        b"Message-ID: <abc@example.org>\r\n"
        b"In-Reply-To: <parent@example.org>\r\n"
        b"References: <root@example.org>\r\n <parent@example.org>\r\n"
        b"List-Id: News <news.example.org>\r\n"
        b"List-Unsubscribe: <https://example.org/u>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
        b"X-Spam-Status: Yes, score=7.5 required=5.0\r\n\r\n"
    )

    assert (headers.from_name, headers.from_address) == ("Chloé Martin", "chloe@example.org")
    assert headers.to == [["Bob", "bob@example.test"], ["", "carol@example.test"]]
    assert headers.cc == [["Dupont, Jean", "jean@example.net"]]
    assert headers.subject == "Réunion de projet"
    assert headers.date == datetime(2026, 2, 3, 9, 0, tzinfo=UTC)
    assert headers.message_id == "abc@example.org"
    assert headers.in_reply_to == "parent@example.org"
    assert headers.references == "root@example.org parent@example.org"
    assert headers.list_unsubscribe_post is True
    assert headers.spam_score == 7.5
    assert headers.spam_flag is True


def test_hostile_headers_degrade_without_raising() -> None:
    headers = index_headers(
        b"From: \x80\x81 junk <\xff@\xfe>\r\n"
        b"Subject: caf\xe9 \x00 =?x-unknown?B?!!!?= " + b"long " * 3000 + b"\r\n"
        b"Date: Mon, 32 Foo 99999 99:99:99 +9999\r\n"
        b"Message-ID: not-an-id\r\n"
        b"X-Spam-Score: lots\r\n\r\n"
    )

    assert len(headers.subject) <= MAX_SUBJECT
    assert "\x00" not in headers.subject
    assert headers.subject.startswith("caf")
    assert headers.date is None
    assert headers.message_id == "not-an-id"
    assert headers.spam_score is None


def test_absurd_dates_are_refused() -> None:
    assert parse_date(b"Thu, 01 Jan 2999 00:00:00 +0000") is None
    assert parse_date(b"Thu, 01 Jan 1900 00:00:00 +0000") is None
    assert parse_date(b"yesterday") is None
    assert parse_date(b"Tue, 3 Feb 2026 10:00:00") == datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def test_internaldate_is_read_with_its_offset() -> None:
    assert parse_internaldate(b"30-Nov-2026 15:41:59 +0100") == datetime(2026, 11, 30, 14, 41, 59, tzinfo=UTC)
    assert parse_internaldate(b" 1-Jan-2026 00:00:00 -0030") == datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    assert parse_internaldate(b"garbage") is None


TEXT = [b"text", b"plain", [b"charset", b"utf-8"], None, None, b"7bit", b"10", b"1", None, None, None, None]
HTML = [b"text", b"html", [b"charset", b"utf-8"], None, None, b"7bit", b"10", b"1", None, None, None, None]
IMAGE = [b"image", b"png", [b"name", b"a.png"], b"<img1>", None, b"base64", b"100", None, None, None, None]
PDF = [b"application", b"pdf", None, None, None, b"base64", b"100", None, [b"attachment", [b"filename", b"a.pdf"]]]
TEXT_ATTACHED = [*TEXT[:9], [b"attachment", [b"filename", b"notes.txt"]], None, None]
SIGNATURE = [b"application", b"pgp-signature", None, None, None, b"7bit", b"100", None, None, None, None]


def test_attachments_are_found_in_bodystructure() -> None:
    assert has_attachments([TEXT, PDF, b"mixed"]) is True
    assert has_attachments([TEXT, TEXT_ATTACHED, b"mixed"]) is True
    assert has_attachments([TEXT, IMAGE, b"mixed"]) is True  # an image beside the text is an attachment


def test_inline_images_signatures_and_alternatives_are_not_attachments() -> None:
    assert has_attachments(TEXT) is False
    assert has_attachments([[TEXT, HTML, b"alternative"], b"mixed"]) is False
    assert has_attachments([HTML, IMAGE, b"related"]) is False
    assert has_attachments([TEXT, SIGNATURE, b"signed"]) is False
    assert has_attachments(None) is False
    assert has_attachments([[[[]]]]) is False


# ---------------------------------------------------------------- fast paths = the full readers
@pytest.mark.parametrize(
    "raw",
    [
        b"you@example.test, team@corp.example",
        b"Bob  Smith <bob@example.test>,carol@example.test , , <dan@example.net>,",
        b"=?utf-8?q?J=C3=A9r=C3=B4me?= <j@xn--bcher-kva.example>, =?iso-8859-1?b?6Q==?= <e@XN--80AKHBYKNJ4F.XN--P1AI>",
        b"Dr. J. Doe <j.doe@example.org>, a@b@c, @x@y",
        b"Doe, John <john@example.org>",  # a comma in an unquoted name: the full parser decides
        b'"Dupont, Jean" <jean@example.net>, x@y',
        b"Ann <ann@example.org> junk, b@c",
        b"Group: a@b, c@d;, e@f",
        b"<@a.net,@b.net:u@d>, v@w",
        b"a@b (comment), c@d",
        b"a@b,\tc@d",
        b"Caf\xc3\xa9 <c@example.org>, d@example.org",
        b", ,",
        b", ".join(b"u%d@example.org" % n for n in range(150)),
        # one address: the single-address fast paths read it the same way too
        b"Jo  Smith <u@xn--caf-dma.example>",
        b"u@XN--CAF-DMA.example",
        b"a\x00b@example.org",
        b"Nul\x00 Name <n@example.org>",
        b"=?utf-8?q?Z=C3=A9?=   Li <z@example.org>",
    ],
)
def test_address_lists_read_by_the_fast_path_match_the_full_parser(raw: bytes) -> None:
    assert addresses(raw) == parsed_addresses(raw)


def test_random_address_lists_match_the_full_parser() -> None:
    rng = random.Random(7)
    pieces = [
        *("john", "Doe", "J.", " ", "  ", ",", ", ", "<", ">", "@", "x.org", "xn--bcher-kva.example"),
        *("=?utf-8?q?J=C3=A9?=", "=?utf-8?q?a?= =?utf-8?q?b?=", '"', "(", ")", ";", ":", "[", "]", "\\", "\t"),
        *("!", "'", "=?", "?=", ".", "a@b@c", "<a@b>", "Ann <ann@example.org>", "\x01", "\x7f"),
    ]
    for _trial in range(5000):
        raw = ", ".join("".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(3)).encode()

        assert addresses(raw) == parsed_addresses(raw), raw


def _full_date(raw: bytes) -> datetime | None:
    """parse_date before its fast path: email.utils for every Date value."""
    try:
        parsed = parsedate_to_datetime(raw.decode("ascii", "replace"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if parsed < EARLIEST or parsed > datetime.now(UTC) + FUTURE_SLACK:
        return None
    return parsed


@pytest.mark.parametrize(
    "raw",
    [
        b"Tue, 03 Feb 2026 10:00:00 +0100",
        b"3 Feb 2026 10:00:00 -0000 (no zone)",
        b"Tue, 3 feb 2026 10:00:00 +0000 (UTC)",
        b"Tue, 3 Feb 0099 10:00:00 +0000",  # email.utils reads 4 digits below 100 as a 2-digit year
        b"Tue, 3 Feb 2026 10:00:00 +0199",
        b"Tue, 3 Feb 2026 10:00:00 +9999",  # an offset of a day or more: refused
        b"Tue, 31 Feb 2026 10:00:00 +0000",
        b"Tue, 3 Feb 2026 24:00:60 +0000",
        b"Tue, 3 Foo 2026 10:00:00 +0000",
        b"Xyz, 3 Feb 2026 10:00:00 -2359",
        b"Tue,  3 Feb 2026 10:00:00 +0100",
        b"Tue, 3 Feb 2026 10:00:00 +0100\x1c",
    ],
)
def test_dates_read_by_the_fast_path_match_email_utils(raw: bytes) -> None:
    assert parse_date(raw) == _full_date(raw)


def test_random_dates_match_email_utils() -> None:
    rng = random.Random(11)
    for _trial in range(5000):
        day = rng.choice(["", "Mon, ", "tue, ", "Xyz, "])
        year = rng.choice(["2026", "2025", "1970", "1969", "0069", "0068", "9999"])
        zone = rng.choice(["+0000", "-0000", "+0130", "-0130", "+0199", "+2400", "-2359"])
        time = f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
        month = rng.choice(["Jan", "dec", "DEC", "Sep", "Foo"])
        raw = f"{day}{rng.randint(0, 32)} {month} {year} {time} {zone}{rng.choice(['', ' (UTC)', '  ', 'x'])}".encode()

        assert parse_date(raw) == _full_date(raw), raw
