"""Header decoding and every address form of the seed notes, as the reading pane shows them."""

from __future__ import annotations

import pytest

from apps.mail.addresses import Address, decode_header, parse_address_list


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"quoted@local"@example.org', [Address("", '"quoted@local"@example.org')]),
        ("user(comment)@example.org", [Address("comment", "user@example.org")]),
        ("Name <user@example.org>", [Address("Name", "user@example.org")]),
        ("Team: a@x.example, b@y.example;", [Address("", "a@x.example"), Address("", "b@y.example")]),
        ("<@a.net,@b.net:user@example.org>", [Address("", "user@example.org")]),
        (
            "Jo <@a.net,@b.net:jo@example.org>, z@example.org",
            [Address("Jo", "jo@example.org"), Address("", "z@example.org")],
        ),
        ("idn@xn--bcher-kva.example", [Address("", "idn@bücher.example")]),
        ("user@example.org (Real Name)", [Address("Real Name", "user@example.org")]),
        ('"Doe, John" <john@example.com>', [Address("Doe, John", "john@example.com")]),
        ("=?utf-8?q?Doe=2C_John?= <john@example.com>", [Address("Doe, John", "john@example.com")]),
        ('"=?utf-8?q?Jos=C3=A9?=" <jose@example.com>', [Address("José", "jose@example.com")]),
        ("Undisclosed recipients:;", [Address("Undisclosed recipients", "")]),
        ('"john"@example.com', [Address("", "john@example.com")]),
        ("x@[192.0.2.1]", [Address("", "x@[192.0.2.1]")]),
        ("a@example.org, , b@example.org", [Address("", "a@example.org"), Address("", "b@example.org")]),
    ],
)
def test_every_address_form_displays_right(value, expected):
    assert parse_address_list(value) == expected


def test_group_members_and_following_addresses_are_all_kept():
    value = 'Team: a@x.example, "q@l"@y.example; , z@w.example'
    assert [a.address for a in parse_address_list(value)] == ["a@x.example", '"q@l"@y.example', "z@w.example"]


def test_names_in_any_charset_and_unknown_charsets_decode():
    assert parse_address_list("=?koi8-r?b?8NLJ18XU?= <ivan@example.ru>") == [Address("Привет", "ivan@example.ru")]
    assert parse_address_list("=?x-unknown?q?Caf=E9?= <c@example.com>") == [Address("Café", "c@example.com")]
    assert parse_address_list(b"M\xfcller <m@example.de>") == [Address("Müller", "m@example.de")]
    # 8-bit bytes kept by the email package as surrogate escapes
    assert parse_address_list("M\udcc3\udcbcller <m@example.de>") == [Address("Müller", "m@example.de")]


def test_malformed_address_lists_degrade_without_raising():
    assert parse_address_list("broken <a@example.org") == [Address("broken", "a@example.org")]
    assert parse_address_list(None) == []
    assert parse_address_list("") == []
    for junk in ['"', "<", "(", ")", "]", "a)b@c", "((((", ":;:;", "@@@", "<@a,@b:>", "\x00\r\n", "a" * 10000]:
        assert isinstance(parse_address_list(junk), list)


def test_encoded_words_in_several_charsets_decode_in_one_header():
    value = "=?utf-8?B?UsOpdW5pb24g?= =?iso-8859-1?Q?=E0_l'h=F4tel?= / =?shift_jis?b?k/qWe4zq?="
    assert decode_header(value) == "Réunion à l'hôtel / 日本語"


def test_a_character_split_across_two_encoded_words_comes_out_whole():
    assert decode_header("=?utf-8?q?=C3?= =?utf-8?q?=A9t=C3=A9?=") == "été"


def test_header_folding_and_control_characters_become_single_spaces():
    assert (
        decode_header("Line one\r\n\tcontinued\r bare CR\n bare LF\x00 NUL") == "Line one continued bare CR bare LF NUL"
    )


def test_broken_encoded_words_never_raise():
    values: list[str | bytes] = [
        "=?utf-8?b?!!!?=",
        "=?utf-8?q?=ZZ?=",
        "=?bogus?x?abc?=",
        "=?",
        "=?utf-8?q?",
        b"\xff=?a?q?b?=",
    ]
    for value in values:
        assert isinstance(decode_header(value), str)
