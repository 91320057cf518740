"""The CardDAV backend: address-book filters (RFC 6352 section 10.5) and card text matching.

`addressbook-query` is answered in two steps: SQL narrows the book to candidates with the derived
`search_text` column when the filter allows it (a `contains`-like match on FN or EMAIL
that every card must pass), then each candidate's own vCard text is checked with a light content
line reader (no vobject: reading 5,000 cards with it would take seconds).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from apps.contacts.models import Contact
from apps.dav.errors import DavError
from apps.dav.xml import CARDDAV, find, findall, qname

COLLATIONS = ("i;unicode-casemap", "i;ascii-casemap", "i;octet")
MATCH_TYPES = ("equals", "contains", "starts-with", "ends-with")
# Properties whose value is in Contact.search_text (casefolded): a SQL pre-filter is safe for them.
_INDEXED = {"FN", "EMAIL"}


@dataclass
class TextMatch:
    text: str
    collation: str = "i;unicode-casemap"
    match_type: str = "contains"
    negate: bool = False

    def fold(self, value: str) -> str:
        if self.collation == "i;octet":
            return value
        if self.collation == "i;ascii-casemap":
            return value.translate(_ASCII_LOWER)
        return value.casefold()

    def matches(self, value: str) -> bool:
        needle, hay = self.fold(self.text), self.fold(value)
        if self.match_type == "equals":
            hit = hay == needle
        elif self.match_type == "starts-with":
            hit = hay.startswith(needle)
        elif self.match_type == "ends-with":
            hit = hay.endswith(needle)
        else:
            hit = needle in hay
        return hit != self.negate


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass
class ParamFilter:
    name: str
    is_not_defined: bool = False
    match: TextMatch | None = None


@dataclass
class PropFilter:
    name: str
    test_all: bool = False
    is_not_defined: bool = False
    matches: list[TextMatch] = field(default_factory=list)
    params: list[ParamFilter] = field(default_factory=list)


@dataclass
class CardFilter:
    test_all: bool = False
    props: list[PropFilter] = field(default_factory=list)


# ---------------------------------------------------------------- parsing the filter
def _test(element: Element) -> bool:
    value = element.get("test", "anyof")
    if value not in ("anyof", "allof"):
        raise DavError(400, message=_("Unknown filter test %(v)s.") % {"v": value[:40]})
    return value == "allof"


def _text_match(element: Element) -> TextMatch:
    collation = element.get("collation", "i;unicode-casemap")
    if collation not in COLLATIONS:
        raise DavError(403, (CARDDAV, "supported-collation"), _("Unsupported collation %(c)s.") % {"c": collation[:40]})
    match_type = element.get("match-type", "contains")
    if match_type not in MATCH_TYPES:
        raise DavError(403, (CARDDAV, "supported-filter"), _("Unknown match type %(m)s.") % {"m": match_type[:40]})
    negate = element.get("negate-condition", "no")
    if negate not in ("yes", "no"):
        raise DavError(400, message=_("negate-condition must be yes or no."))
    if "\x00" in (element.text or ""):
        raise DavError(400, message=_("A text-match cannot hold a NUL character."))
    return TextMatch(text=element.text or "", collation=collation, match_type=match_type, negate=negate == "yes")


# Matching costs (filters x cards): a hostile body must not make it unbounded.
MAX_FILTERS = 50


def parse_filter(element: Element | None) -> CardFilter:
    if element is None:
        return CardFilter()
    result = CardFilter(test_all=_test(element))
    prop_filters = findall(element, CARDDAV, "prop-filter")
    if len(prop_filters) > MAX_FILTERS or any(len(p) > MAX_FILTERS for p in prop_filters):
        raise DavError(403, (CARDDAV, "supported-filter"), _("The filter is too large."))
    for prop in prop_filters:
        name = (prop.get("name") or "").strip().upper()
        if not name:
            raise DavError(400, message=_("A prop-filter needs a name."))
        pf = PropFilter(name=name, test_all=_test(prop))
        pf.is_not_defined = find(prop, CARDDAV, "is-not-defined") is not None
        pf.matches = [_text_match(m) for m in findall(prop, CARDDAV, "text-match")]
        for param in findall(prop, CARDDAV, "param-filter"):
            pname = (param.get("name") or "").strip().upper()
            if not pname:
                raise DavError(400, message=_("A param-filter needs a name."))
            match = find(param, CARDDAV, "text-match")
            pf.params.append(
                ParamFilter(
                    name=pname,
                    is_not_defined=find(param, CARDDAV, "is-not-defined") is not None,
                    match=_text_match(match) if match is not None else None,
                )
            )
        for child in prop:
            if qname(child) not in {(CARDDAV, "is-not-defined"), (CARDDAV, "text-match"), (CARDDAV, "param-filter")}:
                raise DavError(403, (CARDDAV, "supported-filter"), _("Unsupported filter element."))
        result.props.append(pf)
    return result


def prefilter(contacts: QuerySet[Contact], card_filter: CardFilter) -> QuerySet[Contact]:
    """Narrows `contacts` in SQL to a superset of the cards `card_filter` can match."""
    musts: list[PropFilter] = card_filter.props if card_filter.test_all or len(card_filter.props) == 1 else []
    for pf in musts:
        if pf.name not in _INDEXED or pf.is_not_defined or pf.params or not pf.matches:
            continue
        usable = [m for m in pf.matches if not m.negate]
        # With anyof, every text-match must be usable to narrow; with allof, any one of them is enough.
        if usable and (pf.test_all or len(pf.matches) == 1):
            contacts = contacts.filter(search_text__contains=usable[0].text.casefold())
    return contacts


# ---------------------------------------------------------------- reading card text
@dataclass
class Line:
    name: str
    params: dict[str, list[str]]
    value: str


_ESCAPES = re.compile(r"\\(.)")


def _unescape(value: str) -> str:
    return _ESCAPES.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def content_lines(text: str) -> Iterator[Line]:
    """The unfolded content lines of one vCard (group prefixes dropped, names upper-cased)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    for raw in unfolded.splitlines():
        head, sep, value = _split_value(raw)
        if not sep:
            continue
        parts = head.split(";")
        name = parts[0].rpartition(".")[2].upper()
        params: dict[str, list[str]] = {}
        for part in parts[1:]:
            key, eq, val = part.partition("=")
            if eq:
                params.setdefault(key.upper(), []).extend(v.strip('"') for v in val.split(","))
            else:  # vCard 2.1-style bare TYPE values
                params.setdefault("TYPE", []).append(key)
        yield Line(name=name, params=params, value=_unescape(value))


def _split_value(raw: str) -> tuple[str, str, str]:
    # The first ":" outside a quoted parameter value separates the head from the value.
    quoted = False
    for index, char in enumerate(raw):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return raw[:index], ":", raw[index + 1 :]
    return raw, "", ""


def _prop_matches(pf: PropFilter, lines: list[Line]) -> bool:
    if pf.is_not_defined:
        return not lines
    if not lines:
        return False
    if not pf.matches and not pf.params:
        return True
    tests: list[bool] = []
    for m in pf.matches:
        tests.append(any(m.matches(line.value) for line in lines))
    for param in pf.params:
        tests.append(any(_param_matches(param, line) for line in lines))
    return all(tests) if pf.test_all else any(tests)


def _param_matches(param: ParamFilter, line: Line) -> bool:
    values = line.params.get(param.name)
    if param.is_not_defined:
        return values is None
    if values is None:
        return False
    if param.match is None:
        return True
    match = param.match
    return any(match.matches(v) for v in values)


def card_matches(card_filter: CardFilter, text: str) -> bool:
    if not card_filter.props:
        return True
    by_name: dict[str, list[Line]] = {}
    for line in content_lines(text):
        by_name.setdefault(line.name, []).append(line)
    results = (_prop_matches(pf, by_name.get(pf.name, [])) for pf in card_filter.props)
    return all(results) if card_filter.test_all else any(results)
