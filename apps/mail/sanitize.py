"""HTML mail → HTML safe to show in Ruche's message frame.

Mail HTML comes from strangers. The output of `sanitize_html` is meant for a sandboxed iframe
(no `allow-scripts`) served with `FRAME_CSP`; the sanitiser alone must
already make it inert, the frame and the CSP are the second and third walls:

- an allow-list of tags and attributes suited to mail (tables, fonts, colours, images) through
  bleach; script, style, template, noscript, iframe/object/embed, SVG, MathML and form controls
  are dropped WITH their content (bleach alone would keep their text);
- inline `style` goes through a CSS allow-list (`MailCSSSanitizer`): no `position`, no functions
  other than colours and `calc`, no `url()` except image URLs we rewrite, no at-rules;
- links keep only absolute http(s)/mailto/tel targets (or in-page anchors) and get
  `target="_blank" rel="noopener noreferrer"`;
- images: `cid:` → `cid_url(cid)` (a same-origin URL given by the caller), remote http(s) images
  and CSS backgrounds are removed unless the policy is `RemotePolicy.PROXY`, in which case they
  point at Ruche's proxy (`apps.mail.proxy.signed_proxy_url`); small `data:` images of raster
  types are kept. Remote URLs are never left in the output when blocked: the view re-renders with
  the proxy policy when the user allows remote content.
"""

from __future__ import annotations

import enum
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote

import tinycss2  # type: ignore[import-untyped]
from bleach import html5lib_shim
from bleach.css_sanitizer import CSSSanitizer
from bleach.sanitizer import BleachSanitizerFilter, Cleaner
from tinycss2.serializer import serialize_url  # type: ignore[import-untyped]

# Sent by the view with the frame document. The iframe's sandbox attribute (no allow-scripts)
# is the other wall; `frame-ancestors 'self'` keeps other sites from framing a message.
FRAME_CSP = (
    "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote",
        "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn",
        "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd", "li", "main", "mark", "nav", "ol", "p",
        "pre", "q", "s", "samp", "section", "small", "span", "strike", "strong", "sub", "summary", "sup",
        "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul", "var", "wbr",
    }
)  # fmt: skip

# Elements removed together with everything inside them. They must reach the tree builder as
# real elements (so that their content is parsed as a browser would), then disappear.
DROPPED_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "noscript", "noembed", "noframes", "iframe", "frame",
        "frameset", "object", "embed", "applet", "svg", "math", "title", "textarea", "select",
        "xmp", "head", "base", "meta", "link", "input", "button", "audio", "video", "canvas",
        "portal", "dialog", "slot",
    }
)  # fmt: skip

_GLOBAL_ATTRIBUTES = frozenset({"style", "title", "dir", "lang", "align", "valign", "id"})
_TAG_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "name"}),
    "img": frozenset({"src", "alt", "width", "height", "border", "hspace", "vspace", "data-blocked"}),
    "table": frozenset({"width", "height", "border", "cellpadding", "cellspacing", "bgcolor", "background", "summary"}),
    "td": frozenset({"width", "height", "bgcolor", "background", "colspan", "rowspan", "nowrap"}),
    "th": frozenset({"width", "height", "bgcolor", "background", "colspan", "rowspan", "nowrap", "scope"}),
    "tr": frozenset({"bgcolor", "height"}),
    "tbody": frozenset({"bgcolor"}),
    "thead": frozenset({"bgcolor"}),
    "tfoot": frozenset({"bgcolor"}),
    "col": frozenset({"span", "width"}),
    "colgroup": frozenset({"span", "width"}),
    "font": frozenset({"color", "face", "size"}),
    "hr": frozenset({"size", "width", "noshade", "color"}),
    "ol": frozenset({"start", "type", "reversed"}),
    "ul": frozenset({"type"}),
    "li": frozenset({"value", "type"}),
    "div": frozenset({"bgcolor"}),
    "time": frozenset({"datetime"}),
    "del": frozenset({"datetime"}),
    "ins": frozenset({"datetime"}),
    "details": frozenset({"open"}),
}
# bleach checks these schemes on the entity-decoded value; `_rewrite_urls` then narrows them
# per attribute (cid: and data: only for images, mailto:/tel: only for links).
_PROTOCOLS = frozenset({"http", "https", "mailto", "tel", "cid", "data"})

ALLOWED_CSS_PROPERTIES = frozenset(
    {
        "background", "background-color", "background-image", "background-position", "background-repeat",
        "background-size", "border", "border-bottom", "border-bottom-color", "border-bottom-left-radius",
        "border-bottom-right-radius", "border-bottom-style", "border-bottom-width", "border-collapse",
        "border-color", "border-left", "border-left-color", "border-left-style", "border-left-width",
        "border-radius", "border-right", "border-right-color", "border-right-style", "border-right-width",
        "border-spacing", "border-style", "border-top", "border-top-color", "border-top-left-radius",
        "border-top-right-radius", "border-top-style", "border-top-width", "border-width", "box-sizing",
        "caption-side", "clear", "color", "direction", "display", "empty-cells", "float", "font",
        "font-family", "font-size", "font-style", "font-variant", "font-weight", "height", "letter-spacing",
        "line-height", "list-style-position", "list-style-type", "margin", "margin-bottom", "margin-left",
        "margin-right", "margin-top", "max-height", "max-width", "min-height", "min-width", "opacity",
        "overflow", "overflow-wrap", "padding", "padding-bottom", "padding-left", "padding-right",
        "padding-top", "table-layout", "text-align", "text-decoration", "text-indent", "text-transform",
        "unicode-bidi", "vertical-align", "visibility", "white-space", "width", "word-break",
        "word-spacing", "word-wrap",
    }
)  # fmt: skip
_IMAGE_CSS_PROPERTIES = frozenset({"background", "background-image"})
_SAFE_CSS_FUNCTIONS = frozenset({"rgb", "rgba", "hsl", "hsla", "calc"})
_SAFE_CSS_TOKENS = frozenset({"ident", "number", "percentage", "dimension", "string", "hash", "literal", "whitespace"})

DATA_IMAGE_MAX_CHARS = 512 * 1024
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|gif|webp|bmp|avif);base64,[A-Za-z0-9+/=\s]*$", re.IGNORECASE)
_URL_JUNK = re.compile(r"[\x00-\x20\x7f-\xa0`]+")
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")


class RemotePolicy(enum.Enum):
    BLOCK = "block"  # remote images and backgrounds removed (the default)
    PROXY = "proxy"  # rewritten to Ruche's remote-content proxy


@dataclass(frozen=True)
class SanitizedHtml:
    html: str
    has_remote_content: bool  # remote images/backgrounds were present (blocked or proxied)


def cid_url_for(base: str) -> Callable[[str], str]:
    """`cid:` → `base` + the quoted Content-ID: the same function for the view and `mail_render`."""

    def cid_url(content_id: str) -> str:
        return base + quote(content_id, safe="")

    return cid_url


class _Rewriter:
    """Per-call state: where images go, and whether remote content was seen."""

    def __init__(
        self, *, cid_url: Callable[[str], str] | None, remote: RemotePolicy, proxy_url: Callable[[str], str] | None
    ) -> None:
        self.cid_url = cid_url
        self.remote = remote
        self.proxy_url = proxy_url
        self.found_remote = False

    def image_url(self, value: str) -> str | None:
        """The URL to put in the output for an image reference, or None to drop it."""
        url = _URL_JUNK.sub("", html5lib_shim.convert_entities(value))
        lowered = url.lower()
        if lowered.startswith("cid:"):
            content_id = unquote(url[4:]).strip("<>")
            return self.cid_url(content_id) if self.cid_url and content_id else None
        if lowered.startswith("//"):
            url, lowered = "https:" + url, "https:" + lowered
        if lowered.startswith(("http://", "https://")):
            self.found_remote = True
            if self.remote is RemotePolicy.PROXY:
                if self.proxy_url is None:
                    from apps.mail.proxy import signed_proxy_url

                    self.proxy_url = signed_proxy_url
                return self.proxy_url(url)
            return None
        if len(url) <= DATA_IMAGE_MAX_CHARS and _DATA_IMAGE.match(url):
            return url
        return None


class MailCSSSanitizer(CSSSanitizer):
    """Allow-listed properties whose values hold only plain tokens, colour functions and image URLs."""

    def __init__(self, rewriter: _Rewriter) -> None:
        super().__init__(allowed_css_properties=ALLOWED_CSS_PROPERTIES, allowed_svg_properties=frozenset())
        self.rewriter = rewriter

    def sanitize_css(self, style: str) -> str:
        # bleach leaves entities undecoded in attribute values: decode them before judging, and
        # refuse any "&" left afterwards so nothing can turn back into an entity in the output.
        style = html.unescape(style)
        kept: list[str] = []
        for declaration in tinycss2.parse_declaration_list(style, skip_comments=True, skip_whitespace=True):
            if declaration.type != "declaration" or declaration.lower_name not in self.allowed_css_properties:
                continue
            value = self._value(declaration.lower_name, declaration.value)
            if value is None or "&" in value or "<" in value:
                continue
            kept.append(f"{declaration.lower_name}: {value}{' !important' if declaration.important else ''}")
        return "; ".join(kept)

    def _value(self, name: str, tokens: list[Any]) -> str | None:
        out: list[Any] = []
        for token in tokens:
            if token.type in _SAFE_CSS_TOKENS:
                out.append(token)
            elif token.type == "function" and token.lower_name in _SAFE_CSS_FUNCTIONS:
                if self._value(name, token.arguments) is None:
                    return None
                out.append(token)
            elif name in _IMAGE_CSS_PROPERTIES and _css_url(token) is not None:
                rewritten = self.rewriter.image_url(_css_url(token) or "")
                if rewritten is None:
                    return None
                representation = f"url({serialize_url(rewritten)})"
                out.append(tinycss2.ast.URLToken(token.source_line, token.source_column, rewritten, representation))
            else:
                return None  # url() elsewhere, expression(), var(), blocks, at-keywords…
        text = tinycss2.serialize(out).strip()
        return text or None


def _css_url(token: Any) -> str | None:
    if token.type == "url":
        return str(token.value)
    if token.type == "function" and token.lower_name == "url":
        strings = [arg for arg in token.arguments if arg.type == "string"]
        others = [arg for arg in token.arguments if arg.type not in ("string", "whitespace")]
        if len(strings) == 1 and not others:
            return str(strings[0].value)
    return None


def _attribute_allowed(tag: str, name: str, value: str) -> bool:
    return name in _GLOBAL_ATTRIBUTES or name in _TAG_ATTRIBUTES.get(tag, ())


class _DropSubtrees(html5lib_shim.Filter):
    """Removes the DROPPED_WITH_CONTENT elements and everything inside them."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            if depth:
                if kind == "StartTag":
                    depth += 1
                elif kind == "EndTag":
                    depth -= 1
                continue
            if kind in ("StartTag", "EmptyTag") and token["name"].lower() in DROPPED_WITH_CONTENT:
                if kind == "StartTag":
                    depth = 1
                continue
            if kind == "EndTag" and token["name"].lower() in DROPPED_WITH_CONTENT:
                continue
            yield token


class _RewriteUrls(html5lib_shim.Filter):
    """After bleach: links open outside the frame safely; images go where the policy says."""

    def __init__(self, source: Any, rewriter: _Rewriter) -> None:
        super().__init__(source)
        self.rewriter = rewriter

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag"):
                attrs: dict[tuple[str | None, str], str] = dict(token.get("data") or {})
                if token["name"] == "a":
                    _rewrite_link(attrs)
                if attrs.get((None, "style")) == "":
                    del attrs[(None, "style")]
                for attr in ("src", "background"):
                    key = (None, attr)
                    if key in attrs:
                        rewritten = self.rewriter.image_url(attrs.pop(key))
                        if rewritten is not None:
                            attrs[key] = rewritten
                        elif token["name"] == "img":
                            attrs[(None, "data-blocked")] = "true"
                token["data"] = attrs
            yield token


def _rewrite_link(attrs: dict[tuple[str | None, str], str]) -> None:
    href = attrs.pop((None, "href"), None)
    if href is None:
        return
    decoded = _URL_JUNK.sub("", html5lib_shim.convert_entities(href))
    if decoded.startswith("#"):
        attrs[(None, "href")] = href  # an anchor inside the message
    elif decoded.lower().startswith(_LINK_SCHEMES):
        attrs[(None, "href")] = href
        attrs[(None, "target")] = "_blank"
        attrs[(None, "rel")] = "noopener noreferrer"
    # anything else (relative URLs that would point into Ruche, cid:, data:) loses its href


class _MailCleaner(Cleaner):
    def __init__(self, rewriter: _Rewriter) -> None:
        super().__init__(
            tags=ALLOWED_TAGS,
            attributes=_attribute_allowed,
            protocols=_PROTOCOLS,
            strip=True,
            strip_comments=True,
            css_sanitizer=MailCSSSanitizer(rewriter),
        )
        self.rewriter = rewriter
        # The parser must know the dropped elements too, or it would flatten them to their text.
        self.parser = html5lib_shim.BleachHTMLParser(
            tags=ALLOWED_TAGS | DROPPED_WITH_CONTENT, strip=True, consume_entities=False, namespaceHTMLElements=False
        )

    def clean(self, text: str) -> str:
        # Cleaner.clean with one filter BEFORE bleach's (dropping subtrees) and one after.
        dom = self.parser.parseFragment(text)
        stream = BleachSanitizerFilter(
            source=_DropSubtrees(self.walker(dom)),
            allowed_tags=self.tags,
            attributes=self.attributes,
            strip_disallowed_tags=True,
            strip_html_comments=True,
            css_sanitizer=self.css_sanitizer,
            allowed_protocols=self.protocols,
        )
        return str(self.serializer.render(_RewriteUrls(stream, self.rewriter)))


def sanitize_html(
    source: str,
    *,
    cid_url: Callable[[str], str] | None,
    remote: RemotePolicy = RemotePolicy.BLOCK,
    proxy_url: Callable[[str], str] | None = None,
) -> SanitizedHtml:
    """Mail HTML → inert HTML for the message frame (see the module docstring).

    Raises HtmlTooComplexError for documents whose size or nesting would make the HTML5 parser
    slow (a stranger's `<div>` nested 20,000 deep costs seconds): callers show the text instead.
    """
    if html_too_complex(source):
        raise HtmlTooComplexError
    rewriter = _Rewriter(cid_url=cid_url, remote=remote, proxy_url=proxy_url)
    cleaned = _MailCleaner(rewriter).clean(source) if source else ""
    return SanitizedHtml(html=cleaned, has_remote_content=rewriter.found_remote)


class HtmlTooComplexError(ValueError):
    """The HTML is too large or too deeply nested to be sanitised in reasonable time."""


MAX_HTML_CHARS = 2_000_000
MAX_HTML_DEPTH = 400
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


def html_too_complex(source: str) -> bool:
    """A linear pre-check: too long, or open tags nested deeper than any real mail needs."""
    if len(source) > MAX_HTML_CHARS:
        return True
    depth = 0
    for closing, name, self_closing in _TAG.findall(source):
        if name.lower() in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > MAX_HTML_DEPTH:
            return True
    return False


# --- HTML → text (for HTML-only messages: search index, reply quoting) ------------------------

_BLOCKS = frozenset(
    {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr",
     "section", "article", "header", "footer", "dt", "dd", "ul", "ol", "address", "center"}
)  # fmt: skip
_INVISIBLE = frozenset({"script", "style", "head", "title", "template", "noscript", "svg", "math"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS and tag != "li":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(source: str) -> str:
    """Readable text of an HTML body: blocks become lines, invisible elements are skipped."""
    extractor = _TextExtractor()
    try:
        extractor.feed(source)
        extractor.close()
    except Exception:  # html.parser is lenient, but this runs on strangers' input
        return re.sub(r"<[^>]*>", " ", source)
    lines = [line.strip() for line in "".join(extractor.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
