"""Building outgoing messages: addresses, hostile input, replies and forwards, etiquette."""

from __future__ import annotations

import email
from email import policy
from typing import Any

import pytest

from apps.mail.addresses import Address
from apps.mail.compose import (
    ComposeError,
    Outgoing,
    OutgoingAttachment,
    base_subject,
    build_message,
    encoded_size,
    forward_subject,
    mentions_attachment,
    message_bytes,
    parse_recipients,
    quote_text,
    reply_body,
    reply_recipients,
    reply_subject,
    trim_references,
)


def parsed(outgoing: Outgoing) -> Any:
    return email.message_from_bytes(message_bytes(build_message(outgoing)), policy=policy.default)


SENDER = Address("Olivia Owner", "olivia@example.test")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ('"Doe, John" <john@example.org>', [("Doe, John", "john@example.org")]),
        ("a@example.org; b@example.org", None),
        ("Team: a@example.org, b@example.org;", [("", "a@example.org"), ("", "b@example.org")]),
        ("jane@bücher.de", [("", "jane@xn--bcher-kva.de")]),
        ("Zoë <zoe@example.org> (the boss)", [("Zoë", "zoe@example.org")]),
        ('"very.(),:;<>[]\\".VERY.\\"very@\\\\ \\"very\\".unusual"@strange.example.com', None),
    ],
)
def test_every_rfc_5322_form_of_address_is_accepted(typed: str, expected: list[tuple[str, str]] | None) -> None:
    found = parse_recipients(typed)
    assert found
    if expected is not None:
        assert [tuple(a) for a in found] == expected


@pytest.mark.parametrize(
    "typed",
    ["john", "john@", "@example.org", "john@-bad-.org", "john@localhost", "Just A Name"],
)
def test_invalid_addresses_are_refused_in_plain_words(typed: str) -> None:
    with pytest.raises(ComposeError) as caught:
        parse_recipients(typed)
    assert "not a valid" in str(caught.value)


def test_a_line_break_in_an_address_field_never_becomes_a_header() -> None:
    with pytest.raises(ComposeError):
        parse_recipients("a@example.org\r\nBcc: spy@evil.example")


def test_a_line_break_in_the_subject_is_folded_to_a_space() -> None:
    message = parsed(
        Outgoing(sender=SENDER, to=parse_recipients("a@example.org"), subject="Hi\r\nBcc: spy@evil.example")
    )
    assert message["Subject"] == "Hi Bcc: spy@evil.example"
    assert message["Bcc"] is None
    assert len(message.get_all("Subject")) == 1


def test_a_line_break_in_a_display_name_is_refused() -> None:
    with pytest.raises(ComposeError):
        build_message(Outgoing(sender=Address("Eve\r\nBcc: spy@evil.example", "eve@example.org"), to=[SENDER]))


def test_bcc_is_never_in_the_sent_headers_but_is_kept_in_a_draft_copy() -> None:
    outgoing = Outgoing(sender=SENDER, to=parse_recipients("a@example.org"), bcc=parse_recipients("hidden@example.org"))
    assert b"hidden@example.org" not in message_bytes(build_message(outgoing))
    assert b"hidden@example.org" in message_bytes(build_message(outgoing, draft=True))
    assert outgoing.envelope_recipients == ["a@example.org", "hidden@example.org"]


def test_html_is_sanitised_and_sent_with_a_text_alternative() -> None:
    message = parsed(
        Outgoing(
            sender=SENDER,
            to=[SENDER],
            html='<p>Hello <b>you</b></p><script>alert(1)</script><img src="https://track.example/x.png">'
            '<a href="javascript:alert(1)">x</a>',
        )
    )
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content()
    assert "<b>you</b>" in html
    assert "script" not in html
    assert "track.example" not in html
    assert "javascript:" not in html
    assert "Hello you" in message.get_body(("plain",)).get_content()


def test_attachment_names_are_never_paths_and_types_are_checked() -> None:
    message = parsed(
        Outgoing(
            sender=SENDER,
            to=[SENDER],
            text="See attached.",
            attachments=[
                OutgoingAttachment("../../etc/passwd", "text/plain", b"x"),
                OutgoingAttachment("C:\\Users\\me\\report.pdf", "message/rfc822", b"%PDF"),
                OutgoingAttachment("evil\r\nX-Injected: 1.txt", "text/plain\r\nX: y", b"x"),
            ],
        )
    )
    parts = list(message.iter_attachments())
    assert [p.get_filename() for p in parts] == ["passwd", "report.pdf", "evilX-Injected 1.txt"]
    assert parts[1].get_content_type() == "application/octet-stream"
    assert parts[2].get_content_type() == "application/octet-stream"
    assert message["X-Injected"] is None


def test_forward_as_attachment_keeps_the_original_bytes_as_message_rfc822() -> None:
    original = b"From: a@example.org\r\nSubject: Original\r\nMessage-ID: <o@example.org>\r\n\r\nBody\r\n"
    message = parsed(Outgoing(sender=SENDER, to=[SENDER], text="FYI", forwarded_raw=original))
    inner = next(message.iter_attachments())
    assert inner.get_content_type() == "message/rfc822"
    assert inner.get_content()["Subject"] == "Original"


def test_read_receipt_request_adds_disposition_notification_to() -> None:
    message = parsed(Outgoing(sender=SENDER, to=[SENDER], request_receipt=True))
    assert message["Disposition-Notification-To"] == "<olivia@example.test>"


def test_threading_headers_are_set_and_references_trimmed() -> None:
    ids = " ".join(f"<m{i}@example.org>" for i in range(30))
    message = parsed(Outgoing(sender=SENDER, to=[SENDER], in_reply_to="<m29@example.org>", references=ids))
    assert message["In-Reply-To"] == "<m29@example.org>"
    references = message["References"].split()
    assert references[0] == "<m0@example.org>"
    assert references[-1] == "<m29@example.org>"
    assert len(references) == 10
    assert trim_references(["<a@b>", "<a@b>"]) == ["<a@b>"]


@pytest.mark.parametrize(
    "subject", ["Re: Re: Lunch", "RE: AW: Lunch", "Fwd: Re: Lunch", "TR: Lunch", "Re[2]: Lunch", "SV: VS: Lunch"]
)
def test_prefixes_never_stack(subject: str) -> None:
    assert base_subject(subject) == "Lunch"
    assert reply_subject(subject) == "Re: Lunch"
    assert forward_subject(subject) == "Fwd: Lunch"


def test_a_reply_quotes_below_an_empty_line_for_the_cursor_and_drops_the_old_signature() -> None:
    body = reply_body(quoted="Hello\n> earlier\n\n-- \nSam\nCEO", date=None, name="Sam", signature="Olivia")
    assert body.startswith("\n\nSam wrote:\n> Hello\n>> earlier\n>")
    assert "CEO" not in body
    assert body.endswith("\n-- \nOlivia\n")
    assert quote_text("a\n\nb") == "> a\n>\n> b"


def test_reply_all_leaves_out_my_own_addresses_and_duplicates() -> None:
    to, cc = reply_recipients(
        sender=[Address("Sam", "sam@example.org")],
        reply_to=[],
        to=[Address("Me", "ME@example.test"), Address("Ann", "ann@example.org")],
        cc=[
            Address("Sam again", "sam@example.org"),
            Address("Bob", "bob@example.org"),
            Address("Alias", "me2@example.test"),
        ],
        mine={"me@example.test", "me2@example.test"},
        reply_all=True,
    )
    assert [a.address for a in to] == ["sam@example.org", "ann@example.org"]
    assert [a.address for a in cc] == ["bob@example.org"]


def test_a_reply_goes_to_reply_to_when_there_is_one() -> None:
    to, cc = reply_recipients(
        sender=[Address("Sam", "sam@example.org")],
        reply_to=[Address("List", "list@example.org")],
        to=[],
        cc=[],
        mine=set(),
        reply_all=False,
    )
    assert [a.address for a in to] == ["list@example.org"]
    assert cc == []


def test_attachment_words_in_english_and_french_are_noticed_outside_quotes() -> None:
    assert mentions_attachment("Please find the report attached.")
    assert mentions_attachment("Voir la pièce jointe.")
    assert mentions_attachment("Ci-joint le devis")
    assert not mentions_attachment("Thanks!\n> see the attached file")
    assert not mentions_attachment("Nothing to see here.")


def test_encoded_size_is_about_a_third_more() -> None:
    assert encoded_size(3_000_000) == 4_105_262
    assert 1.36 < encoded_size(10_000_000) / 10_000_000 < 1.38
