"""Plain-text mail → safe HTML: escaped, links clickable, quotes foldable, signature marked.

`text_to_html` output is built only from escaped text and our own tags:

    <div class="plain-text">            (the page sets white-space: pre-wrap)
      line…
      <blockquote class="quote" data-depth="1">> quoted…<blockquote … data-depth="2">…</blockquote></blockquote>
      <div class="signature">-- …</div>
    </div>

`unflow` honours format=flowed (RFC 3676): soft line breaks joined, space-stuffing removed.
"""

from __future__ import annotations

import re
from html import escape

_QUOTE_PREFIX = re.compile(r"^((?:>[ \t]?)+)")
_LINKS = re.compile(
    r"(?P<url>\b(?:https?://|www\.)[^\s<>\"]+)"
    r"|(?P<mailto>\bmailto:[^\s<>\"]+)"
    r"|(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?'\"*"
_CLOSING = {")": "(", "]": "[", "}": "{", ">": "<"}
_SIGNATURE_SEPARATORS = ("-- ", "--")


def unflow(text: str, *, delsp: bool = False) -> str:
    """Joins the soft line breaks of a format=flowed body; quoted lines keep their '>' prefix."""
    out: list[str] = []
    paragraph: str | None = None
    paragraph_depth = 0
    for raw_line in text.replace("\r\n", "\n").split("\n"):
        depth = len(raw_line) - len(raw_line.lstrip(">"))
        line = raw_line[depth:]
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        flowed = line.endswith(" ") and line != "-- "
        if flowed and delsp:
            line = line[:-1]
        if paragraph is not None and depth == paragraph_depth:
            paragraph += line
        else:
            if paragraph is not None:
                out.append(_with_prefix(paragraph, paragraph_depth))
            paragraph, paragraph_depth = line, depth
        if not flowed:
            out.append(_with_prefix(paragraph, paragraph_depth))
            paragraph = None
    if paragraph is not None:
        out.append(_with_prefix(paragraph, paragraph_depth))
    return "\n".join(out)


def _with_prefix(line: str, depth: int) -> str:
    return f"{'>' * depth} {line}" if depth else line


def linkify(text: str) -> str:
    """Escapes text and turns web addresses and mail addresses into links that open outside."""
    parts: list[str] = []
    position = 0
    for match in _LINKS.finditer(text):
        target = match.group(0)
        trimmed = _trim(target)
        start, end = match.start(), match.start() + len(trimmed)
        parts.append(escape(text[position:start]))
        if match.group("email"):
            href = f"mailto:{trimmed}"
        elif trimmed.lower().startswith("www."):
            href = f"http://{trimmed}"
        else:
            href = trimmed
        parts.append(
            f'<a href="{escape(href, quote=True)}" target="_blank" rel="noopener noreferrer">{escape(trimmed)}</a>'
        )
        position = end
    parts.append(escape(text[position:]))
    return "".join(parts)


def _trim(url: str) -> str:
    """Drops sentence punctuation after a URL, and a closing bracket the URL did not open."""
    while url:
        last = url[-1]
        unbalanced = last in _CLOSING and url.count(_CLOSING[last]) < url.count(last)
        if last in _TRAILING_PUNCTUATION or unbalanced:
            url = url[:-1]
        else:
            break
    return url


def _quote_depth(line: str) -> tuple[int, str]:
    match = _QUOTE_PREFIX.match(line)
    if not match:
        return 0, line
    prefix = match.group(1)
    return prefix.count(">"), line[len(prefix) :]


def text_to_html(text: str) -> str:
    """Escaped, linkified HTML of a plain-text body with nested quote blocks and the signature marked."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    signature_at = None
    for index in range(len(lines) - 1, -1, -1):
        if lines[index] in _SIGNATURE_SEPARATORS:
            signature_at = index
            break

    html: list[str] = ['<div class="plain-text">']
    depth = 0
    previous_was_line = False
    for index, line in enumerate(lines):
        if index == signature_at:
            html.append("</blockquote>" * depth)
            depth = 0
            html.append('<div class="signature">')
            previous_was_line = False
        line_depth, content = _quote_depth(line) if signature_at is None or index < signature_at else (0, line)
        if line_depth != depth:
            while depth > line_depth:
                html.append("</blockquote>")
                depth -= 1
            while depth < line_depth:
                depth += 1
                html.append(f'<blockquote class="quote" data-depth="{depth}">')
            previous_was_line = False
        if previous_was_line:
            html.append("\n")
        html.append(linkify(content))
        previous_was_line = True
    html.append("</blockquote>" * depth)
    if signature_at is not None:
        html.append("</div>")
    html.append("</div>")
    return "".join(html)
