"""XML in and out of the DAV layer: safe parsing, and a small string writer for multistatus answers.

Parsing goes through defusedxml with DTDs refused, so no entity (internal or external) can be
declared: a billion-laughs body or an `file:///etc/passwd` entity is a 400, never an expansion.

Answers are written as text with fixed prefixes rather than through an element tree: a PROPFIND
of 5,000 cards is 5,000 small string templates (a few ms), where building and serialising an
element tree costs ten times more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
RUCHE = "http://ruche.invalid/ns"

PREFIXES = {DAV: "d", CARDDAV: "card", CS: "cs", CALDAV: "cal", RUCHE: "r"}
_NS_DECL = " ".join(f'xmlns:{p}="{ns}"' for ns, p in PREFIXES.items())
HEADER = '<?xml version="1.0" encoding="utf-8"?>\n'

Name = tuple[str, str]  # (namespace, local name)


class XmlError(ValueError):
    """The body is not XML we accept (malformed, a DTD/entity, or the wrong root)."""


def parse(body: bytes) -> Element:
    """The root element of a request body; XmlError for anything malformed or with a DTD."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as error:
        raise XmlError(str(error)[:200]) from None
    if not isinstance(root, Element):  # pragma: no cover - defusedxml always returns an Element
        raise XmlError("no root element")
    return root


def qname(element: Element) -> Name:
    """(namespace, local) of an element; elements without a namespace get "" (clients that forget xmlns)."""
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        ns, _sep, local = tag[1:].partition("}")
        return ns, local
    return "", str(tag)


def find(element: Element, ns: str, local: str) -> Element | None:
    return element.find(f"{{{ns}}}{local}")


def findall(element: Element, ns: str, local: str) -> list[Element]:
    return element.findall(f"{{{ns}}}{local}")


# A request naming more properties than this is refused: each name costs output on every card.
MAX_PROPS = 100


def prop_names(prop: Element) -> list[Name]:
    """The distinct property names inside a DAV:prop, in order; XmlError above MAX_PROPS."""
    names = list(dict.fromkeys(qname(child) for child in prop))
    if len(names) > MAX_PROPS:
        raise XmlError(f"more than {MAX_PROPS} properties asked")
    return names


# ---------------------------------------------------------------- writing
@dataclass(frozen=True)
class Raw:
    """Already-serialised XML placed as is inside a property (uses the fixed prefixes)."""

    xml: str


def tag(name: Name) -> tuple[str, str]:
    """Opening and closing tag text of `name`; an unknown namespace is declared on the element."""
    ns, local = name
    prefix = PREFIXES.get(ns)
    if prefix is not None:
        return f"{prefix}:{local}", f"{prefix}:{local}"
    if ns:
        return f"{local} xmlns={quoteattr(ns)}", local
    return f'{local} xmlns=""', local


def element(name: Name, value: Any = None) -> str:
    """`<name/>`, `<name>escaped text</name>` or `<name>raw xml</name>`."""
    open_tag, close_tag = tag(name)
    if value is None or value == "":
        return f"<{open_tag}/>"
    if isinstance(value, Raw):
        return f"<{open_tag}>{value.xml}</{close_tag}>"
    return f"<{open_tag}>{escape(str(value))}</{close_tag}>"


def text(value: str) -> str:
    """`value` escaped for element content."""
    return escape(value)


def href(path: str) -> str:
    return f"<d:href>{escape(path)}</d:href>"


def hrefs(paths: Iterable[str]) -> Raw:
    return Raw("".join(href(p) for p in paths))


STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


def status_line(code: int) -> str:
    return f"<d:status>HTTP/1.1 {code} {STATUS_TEXT.get(code, '')}</d:status>"


def propstat(code: int, props: Iterable[str]) -> str:
    inner = "".join(props)
    return f"<d:propstat><d:prop>{inner}</d:prop>{status_line(code)}</d:propstat>"


def response(path: str, found: dict[Name, Any], missing: Iterable[Name] = (), forbidden: Iterable[Name] = ()) -> str:
    """One DAV:response with a 200 propstat for `found` and 404/403 ones for the others."""
    parts = [f"<d:response>{href(path)}"]
    if found:
        parts.append(propstat(200, (element(name, value) for name, value in found.items())))
    missing = list(missing)
    if missing:
        parts.append(propstat(404, (element(name) for name in missing)))
    forbidden = list(forbidden)
    if forbidden:
        parts.append(propstat(403, (element(name) for name in forbidden)))
    if len(parts) == 1:  # RFC 4918: a response has a status or at least one propstat
        parts.append(propstat(200, ()))
    parts.append("</d:response>")
    return "".join(parts)


def status_response(path: str, code: int, error: str = "") -> str:
    """A DAV:response carrying only a status (a removed member in a sync, a 507 truncation)."""
    error_xml = f"<d:error>{error}</d:error>" if error else ""
    return f"<d:response>{href(path)}{status_line(code)}{error_xml}</d:response>"


def multistatus(responses: Iterable[str], tail: str = "") -> str:
    return f"{HEADER}<d:multistatus {_NS_DECL}>{''.join(responses)}{tail}</d:multistatus>"


def error_body(condition: Name, message: str = "", extra: str = "") -> str:
    """An RFC 4918 DAV:error body naming the failed precondition, with a readable reason."""
    text = f"<r:message>{escape(message)}</r:message>" if message else ""
    return f"{HEADER}<d:error {_NS_DECL}>{element(condition, Raw(extra) if extra else None)}{text}</d:error>"


def document(root: Name, inner: str) -> str:
    open_tag, close_tag = tag(root)
    return f"{HEADER}<{open_tag} {_NS_DECL}>{inner}</{close_tag}>"
