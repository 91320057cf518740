"""parse_message on the hand-written corpus: structure, charsets, names, parts, and no crash on anything."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from apps.mail.addresses import Address
from apps.mail.mime import RenderedMessage, parse_message, part_bytes, safe_filename
from apps.mail.sanitize import RemotePolicy, cid_url_for

CORPUS = Path(__file__).parent / "corpus"


def render(name: str, **kwargs) -> RenderedMessage:
    kwargs.setdefault("cid_url", cid_url_for("/mail/cid/"))
    return parse_message((CORPUS / name).read_bytes(), **kwargs)


def test_alternative_shows_the_html_and_keeps_the_text():
    message = render("alternative.eml")
    assert message.subject == "Lunch on Friday?"
    assert message.from_ == [Address("Alice Martin", "alice@example.org")]
    assert message.date == datetime(2026, 6, 5, 7, 14, tzinfo=UTC)
    assert message.body_is_html
    assert '<a href="https://example.org/menu" target="_blank" rel="noopener noreferrer">here</a>' in message.html
    assert message.text.startswith("Hi Bob,\n\nLunch on Friday at noon?")
    assert message.attachments == []
    assert message.errors == []


def test_attachments_are_listed_with_decoded_safe_names_types_and_sizes():
    message = render("mixed-attachments.eml")
    assert message.text == "Here are the documents."
    listed = [(a.part_id, a.filename, a.content_type, a.size) for a in message.attachments]
    assert listed == [
        ("2", "agenda.pdf", "application/pdf", 78),
        ("3", "Compte rendu de la réunion — été 2026.txt", "text/plain", 13),  # RFC 2231 continuation, UTF-8
        ("4", "Année à venir.xls", "application/octet-stream", 8),  # RFC 2231, ISO-8859-1
        ("5", "Rapport final été.docx", "application/octet-stream", 5),  # RFC 2047 in a file name
        ("6", "evil.dll", "application/octet-stream", 2),  # directories stripped
        ("7", "passwd", "application/octet-stream", 10),
        ("8", "_CON.txt", "text/plain", 8),  # reserved device name
        ("9", "invoicegpj.exe", "application/octet-stream", 2),  # right-to-left override removed
        ("10", "part-10.png", "image/png", 73),
    ]
    assert all(a.disposition == "attachment" and not a.inline for a in message.attachments)


def test_a_part_can_be_extracted_again_by_its_id():
    raw = (CORPUS / "mixed-attachments.eml").read_bytes()
    content_type, filename, data = part_bytes(raw, "2")
    assert (content_type, filename) == ("application/pdf", "agenda.pdf")
    assert data.startswith(b"%PDF-1.4")
    assert part_bytes(raw, "10")[2].startswith(b"\x89PNG")
    with pytest.raises(KeyError):
        part_bytes(raw, "11")


def test_related_cid_images_are_served_from_the_message_and_remote_ones_blocked():
    message = render("related-cid.eml")
    assert '<img alt="logo" width="2" height="2" src="/mail/cid/logo%40example.com">' in message.html
    assert "cdn.example.com" not in message.html
    assert message.has_remote_content
    (logo,) = message.attachments
    assert (logo.part_id, logo.content_id, logo.inline, logo.filename) == ("2", "logo@example.com", True, "logo.png")
    assert message.part_for_content_id("<logo@example.com>") == logo
    raw = (CORPUS / "related-cid.eml").read_bytes()
    assert part_bytes(raw, "2")[2].startswith(b"\x89PNG")
    assert part_bytes(raw, "cid:logo@example.com") == part_bytes(raw, "2")
    with pytest.raises(KeyError):
        part_bytes(raw, "cid:unknown@example.com")


def test_remote_content_is_proxied_when_the_policy_allows_it():
    message = render(
        "newsletter.eml", remote=RemotePolicy.PROXY, proxy_url=lambda url: "/p?u=" + url.rsplit("/", 1)[-1]
    )
    assert '<img width="300" height="200" alt="Product" src="/p?u=product.jpg">' in message.html
    assert "shop.example.com/product.jpg" not in message.html


def test_an_attached_message_opens_as_a_message():
    raw = (CORPUS / "nested-rfc822.eml").read_bytes()
    outer = parse_message(raw, cid_url=None)
    (attached,) = outer.attachments
    assert (attached.part_id, attached.content_type, attached.filename) == ("2", "message/rfc822", "Budget 2026.eml")
    content_type, _filename, data = part_bytes(raw, attached.part_id)
    assert content_type == "message/rfc822"
    assert len(data) == attached.size
    inner = parse_message(data, cid_url=None)
    assert inner.subject == "Budget 2026"
    assert inner.from_ == [Address("Eve Finance", "eve@example.com")]
    assert inner.html.strip() == "<p>The budget is <i>attached</i>.</p>"
    assert inner.text.strip() == "The budget is attached."
    # The inner parts keep the IMAP numbering of the outer message.
    assert part_bytes(raw, "2.2")[2].strip() == b"<p>The budget is <i>attached</i>.</p>"


def test_encoded_subjects_and_names_in_several_charsets_decode():
    message = render("rfc2047-subjects.eml")
    assert message.subject == "Réunion à l'hôtel / Привет / 日本語 / Café"
    assert message.from_ == [Address("François Müller €", "francois@example.fr")]
    assert message.to == [Address("Привет", "ivan@example.ru"), Address("日本語", "taro@example.jp")]
    assert message.cc == [Address("中文", "li@example.cn"), Address("Doe, John", "john@example.com")]


def test_mislabelled_utf8_is_read_as_utf8():
    message = render("wrong-charset.eml")
    assert message.text == "Déjà vu, naïve café — “quotes”.\n"


def test_an_unknown_charset_decodes_and_says_so():
    message = render("unknown-charset.eml")
    assert message.text == "Café crème brûlée.\n"
    assert message.errors == ["Unknown character set “x-klingon-42”; the text was decoded as well as possible."]


def test_eight_bit_headers_decode():
    message = render("8bit-headers.eml")
    assert message.subject == "Grüße aus Köln — raw UTF-8 header"
    assert message.from_ == [Address("Jürgen Groß", "juergen@example.de")]
    assert ("X-Latin1-Header", "déjà") in message.headers


def test_a_missing_boundary_shows_the_body_as_text_and_says_so():
    message = render("broken-boundary.eml")
    assert "The parts use another boundary than the one declared." in message.text
    assert (
        "The message declares several parts but their boundary was not found; it is shown as one text."
        in message.errors
    )


def test_a_missing_end_boundary_keeps_what_was_there():
    message = render("missing-end-boundary.eml")
    assert message.text == "First part is fine."
    assert [(a.filename, a.size) for a in message.attachments] == [("cut.bin", 6)]
    assert message.errors == ["The message ends without its final boundary; the last part may be incomplete."]


def test_damaged_base64_is_decoded_as_far_as_possible():
    message = render("base64-garbage.eml")
    assert message.text.startswith("Hello world")
    assert "A part's base64 encoding is damaged; it was decoded as far as possible." in message.errors


def test_quoted_printable_soft_breaks_are_joined():
    message = render("qp-soft-breaks.eml")
    assert message.text.startswith(
        "This is a long line that was wrapped by the sender with a soft line break right here,"
    )
    assert "café, naïve, à bientôt." in message.text


def test_header_junk_never_leaks_control_characters():
    message = render("header-junk.eml")
    assert message.subject == "Line one continued with bare CR and bare LF and NUL"
    assert message.from_ == [Address("Junk Sender", "junk@example.org")]
    assert all("\r" not in value and "\n" not in value and "\x00" not in value for _, value in message.headers)
    assert "A header line is malformed; what follows it was read as the body." in message.errors


def test_every_address_form_of_the_corpus_displays_right():
    message = render("addresses.eml")
    assert message.from_ == [Address("", '"quoted@local"@example.org')]
    assert message.to == [
        Address("comment", "user@example.org"),
        Address("Name", "user@example.org"),
        Address("", "a@x.example"),
        Address("", "b@y.example"),
        Address("", "route@example.org"),
        Address("", "idn@bücher.example"),
        Address("Renée Élise", "renee@example.fr"),
        Address("Undisclosed recipients", ""),
    ]
    assert message.cc == [
        Address("Doe, Jane", "jane@example.com"),
        Address("Jane Doe", "jane@example.com"),
        Address("“Smart”", "s@example.com"),
    ]
    assert message.reply_to == [Address("Café", "cafe@example.com")]


def test_the_gtube_string_is_shown_as_plain_text():
    message = render("gtube.eml")
    assert "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X" in message.text
    assert "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X" in message.html


def test_a_newsletter_loses_its_trackers_until_allowed():
    message = render("newsletter.eml")
    assert message.subject == "50% off this week 🎉"
    assert message.has_remote_content
    for needle in (
        "track.example.com",
        "mail.css",
        "more.css",
        "bg.png",
        "hero.jpg",
        "product.jpg",
        "<style",
        "<link",
        "<meta",
    ):
        assert needle not in message.html
    assert (
        '<a href="https://shop.example.com/deals?utm=mail" target="_blank" rel="noopener noreferrer">' in message.html
    )
    assert message.text == "50% off this week\n\nSee the deals"


def test_hostile_html_message_is_inert():
    message = render("hostile.eml")
    lowered = message.html.lower()
    for needle in (
        "<script",
        "onerror",
        "onclick",
        "onload",
        "javascript:",
        "vbscript:",
        "data:text",
        "<svg",
        "<math",
        "<form",
        "<input",
        "<iframe",
        "<object",
        "<embed",
        "<base",
        "<meta",
        "position",
        "expression",
        "evil.example",
    ):
        assert needle not in lowered, needle
    assert '<a href="https://example.org/" target="_blank" rel="noopener noreferrer">no rel</a>' in message.html
    assert "<p>Safe text</p>" in message.html


def test_format_flowed_is_honoured():
    message = render("flowed.eml")
    assert message.text.startswith(
        "This paragraph was written as one long line and wrapped by the client at about seventy characters,"
        " with soft breaks that must be joined.\n"
    )
    assert (
        '<blockquote class="quote" data-depth="1">A quoted paragraph that was also flowed by the client.'
        in message.html
    )
    assert '<div class="signature">-- \nAlice</div>' in message.html


def test_an_html_only_message_gets_a_text_version():
    message = render("html-only.eml")
    assert message.text == "First paragraph.\n\n- one\n- two & three"
    assert "color" not in message.html


def test_bytes_that_are_not_a_message_still_render_and_say_what_is_wrong():
    message = render("not-a-message.eml")
    assert message.errors[0] == "The message has no headers."
    assert "\x00" not in message.text
    assert "<" not in message.html.replace("<div", "").replace("</div>", "")


def test_a_two_megabyte_attachment_is_listed_with_its_decoded_size():
    payload = random.Random(7).randbytes(2 * 1024 * 1024)
    encoded = base64.encodebytes(payload).decode()
    raw = (
        "From: a@example.org\nSubject: Big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
        "--b\nContent-Type: text/plain\n\nSee attached.\n"
        f"--b\nContent-Type: application/zip\nContent-Disposition: attachment; filename=big.zip\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}--b--\n"
    ).encode()
    message = parse_message(raw, cid_url=None)
    assert [(a.filename, a.size) for a in message.attachments] == [("big.zip", 2 * 1024 * 1024)]
    assert part_bytes(raw, "2")[2] == payload


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\evil.bat", "evil.bat"),
        ("  .hidden  ", "hidden"),
        ("nul", "_nul"),
        ("LPT1.txt", "_LPT1.txt"),
        ("a\x00b\x1fc\u202ed.txt", "abcd.txt"),
        ('what?<>:"|*.txt', "what.txt"),
        ("", "attachment.pdf"),
    ],
)
def test_file_names_are_never_paths_or_devices(name, expected):
    assert safe_filename(name, content_type="application/pdf") == expected


def test_long_file_names_keep_their_extension():
    name = safe_filename("é" * 300 + ".pdf")
    assert name.endswith(".pdf")
    assert len(name.encode()) <= 200


def test_no_mutation_of_the_corpus_makes_the_parser_raise():
    rng = random.Random(2026)
    samples = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    specials = [
        b"\r",
        b"\n",
        b"\x00",
        b"=?",
        b"?=",
        b"--",
        b'"',
        b";",
        b":",
        b"<",
        b">",
        b"*",
        b"=",
        b"\xff",
        b"boundary=",
    ]
    for round_ in range(300):
        data = bytearray(samples[round_ % len(samples)])
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(data) + 1)
            choice = rng.random()
            if choice < 0.4:
                data[position:position] = rng.choice(specials)
            elif choice < 0.7:
                del data[position : position + rng.randint(1, 40)]
            else:
                data[position:position] = rng.randbytes(rng.randint(1, 8))
        message = parse_message(bytes(data), cid_url=cid_url_for("/c/"))
        assert isinstance(message.html, str)
        assert "<script" not in message.html.lower()
        for attachment in message.attachments:
            part_bytes(bytes(data), attachment.part_id)


def test_a_header_that_crashes_the_modern_parser_falls_back_to_compat32():
    # `Content-Type: );boundary*` makes policy.default raise IndexError inside the parser.
    raw = b"From: a@example.org\nSubject: Crashes policy.default\nContent-Type: );boundary*\n\nStill readable.\n"
    message = parse_message(raw, cid_url=None)
    assert (message.subject, message.text) == ("Crashes policy.default", "Still readable.\n")
    assert message.errors == ["Some headers are malformed; the message was read in compatibility mode."]


def _mutations(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    samples = [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))]
    specials = [b"\n", b"\r", b"\x00", b"=?", b"--", b'"', b";", b":", b"*", b"=", b"\xff", b"boundary=", b"(x)", b"''"]
    found = list(samples)
    for round_ in range(count):
        data = bytearray(samples[round_ % len(samples)])
        for _ in range(rng.randint(1, 12)):
            position = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                data[position:position] = rng.choice(specials)
            else:
                del data[position : position + rng.randint(1, 40)]
        found.append(bytes(data))
    return found


def test_shared_header_objects_read_every_message_as_the_plain_policy_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # The parser keeps one header object per distinct name and value (apps.mail.mime._SharedHeaders);
    # the plain policy.default, which parses every header each time it is read, is the reference.
    import dataclasses
    from email import policy

    from apps.mail import mime

    for raw in _mutations(400, seed=61):
        shared = dataclasses.asdict(parse_message(raw, cid_url=cid_url_for("/c/")))
        with monkeypatch.context() as plain:
            plain.setattr(mime, "_PARSE_POLICY", policy.default)
            reference = dataclasses.asdict(parse_message(raw, cid_url=cid_url_for("/c/")))
        assert shared == reference


def test_headers_are_kept_once_and_a_huge_one_is_not_kept() -> None:
    from apps.mail import mime

    def message(content_type: str) -> bytes:
        return f"From: a@example.org\nSubject: Kept\nContent-Type: {content_type}\n\nBody.\n".encode()

    mime._shared_header.cache_clear()
    assert parse_message(message("text/plain; charset=utf-8; x-seen=1"), cid_url=None).text == "Body.\n"
    first = mime._shared_header.cache_info()
    assert first.currsize == 1  # the parser read that Content-Type many times, parsed once
    assert first.hits > 0
    parse_message(message("text/plain; charset=utf-8; x-seen=1"), cid_url=None)
    assert mime._shared_header.cache_info().currsize == 1  # the next message with it: no new entry

    huge = "text/plain; charset=utf-8; x-pad=" + "a" * (mime._SHARED_HEADER_MAX + 1)
    assert parse_message(message(huge), cid_url=None).text == "Body.\n"
    assert mime._shared_header.cache_info().currsize == 1  # read, not kept
