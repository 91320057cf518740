"""Plain text → safe HTML: escaping, links, foldable quotes, signature, format=flowed."""

from __future__ import annotations

from apps.mail.quoting import linkify, text_to_html, unflow


def test_text_is_escaped():
    html = text_to_html('<script>alert("x")</script> & <b>bold</b>')
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


def test_urls_and_mail_addresses_become_links_that_open_outside():
    html = linkify("See https://example.org/a_(b). Or www.example.com, or write to bob@example.net!")
    assert (
        '<a href="https://example.org/a_(b)" target="_blank" rel="noopener noreferrer">https://example.org/a_(b)</a>.'
        in html
    )
    assert '<a href="http://www.example.com" target="_blank" rel="noopener noreferrer">www.example.com</a>,' in html
    assert '<a href="mailto:bob@example.net" target="_blank" rel="noopener noreferrer">bob@example.net</a>!' in html


def test_a_link_cannot_break_out_of_its_attribute():
    html = linkify('https://example.org/"onmouseover="alert(1)')
    assert 'href="https://example.org/"' in html
    assert "onmouseover=" in html  # as text after the link, not as an attribute
    assert '" onmouseover' not in html


def test_javascript_urls_are_not_linked():
    assert "<a" not in linkify("javascript:alert(1)")


def test_quoted_blocks_nest_by_depth():
    html = text_to_html("Answer\n> first\n> > second\n>> also second\n> back to first\nEnd")
    assert html == (
        '<div class="plain-text">Answer'
        '<blockquote class="quote" data-depth="1">first'
        '<blockquote class="quote" data-depth="2">second\nalso second</blockquote>'
        "back to first</blockquote>"
        "End</div>"
    )


def test_signature_after_dash_dash_space_is_marked():
    html = text_to_html("Hello\n> quoted\n-- \nAlice\nhttps://alice.example")
    assert html.endswith(
        '<div class="signature">-- \nAlice\n<a href="https://alice.example" target="_blank" '
        'rel="noopener noreferrer">https://alice.example</a></div></div>'
    )
    assert html.count("<blockquote") == html.count("</blockquote>") == 1


def test_format_flowed_soft_breaks_are_joined_and_space_stuffing_removed():
    text = "One long \nparagraph.\n> Quoted \n> flowed.\n>> deeper\n From stuffed\n-- \nSig"
    assert unflow(text) == "One long paragraph.\n> Quoted flowed.\n>> deeper\nFrom stuffed\n-- \nSig"


def test_format_flowed_delsp_removes_the_soft_break_space():
    assert unflow("Zusammen \ngeschrieben", delsp=True) == "Zusammengeschrieben"
