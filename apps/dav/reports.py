"""REPORTs on an address book: addressbook-multiget, addressbook-query (RFC 6352), sync-collection (RFC 6578)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from django.utils.translation import gettext as _

from apps.contacts.models import AddressBook, Contact
from apps.core.changes import changes_since, current_token
from apps.dav import carddav, xml
from apps.dav.errors import DavError
from apps.dav.props import CardRenderer, CardRow, parse_sync_token, sync_token
from apps.dav.resources import Resource, href_to_path, seg, segments_of
from apps.dav.xml import CARDDAV, DAV, Name

TRUNCATED = "<d:number-of-matches-within-limits/>"
# Hrefs per IN (...) query: SQLite allows a limited number of variables in one statement.
HREF_BATCH = 500
MAX_MULTIGET = 10_000


def _rows_by_href(render: CardRenderer, book: AddressBook, names: list[str]) -> dict[str, CardRow]:
    rows: dict[str, CardRow] = {}
    for start in range(0, len(names), HREF_BATCH):
        batch = names[start : start + HREF_BATCH]
        rows.update((row[0], row) for row in render.rows(Contact.objects.filter(book=book, href__in=batch)))
    return rows


def wanted_props(root: Element) -> list[Name] | None:
    """The DAV:prop names asked for (None: allprop); getetag when the report names none."""
    if xml.find(root, DAV, "allprop") is not None:
        return None
    prop = xml.find(root, DAV, "prop")
    if prop is None:
        return [(DAV, "getetag")]
    return xml.prop_names(prop)


def _limit(root: Element, ns: str) -> int | None:
    limit = xml.find(root, ns, "limit")
    if limit is None:
        return None
    nresults = xml.find(limit, ns, "nresults")
    text = (nresults.text or "").strip() if nresults is not None else ""
    if not text.isdigit() or not 0 < int(text) <= 100_000:
        raise DavError(400, message=_("limit/nresults must be a positive number."))
    return int(text)


def run(res: Resource, root: Element) -> str:
    """The multistatus text of a REPORT on a book (the caller checked read access)."""
    name = xml.qname(root)
    if name == (CARDDAV, "addressbook-multiget"):
        return multiget(res, root)
    if name == (CARDDAV, "addressbook-query"):
        return query(res, root)
    if name == (DAV, "sync-collection"):
        return sync(res, root)
    raise DavError(403, (DAV, "supported-report"), _("This report is not supported here."))


def multiget(res: Resource, root: Element) -> str:
    wanted = wanted_props(root)
    book_segments = segments_of(res.path) or []
    names: dict[str, str] = {}  # card name -> href as the answer writes it
    missing: list[str] = []
    for element in xml.findall(root, DAV, "href"):
        path = href_to_path(element.text or "")
        segments = segments_of(path)
        if (
            segments is None
            or len(segments) != len(book_segments) + 1
            or segments[:-1] != book_segments
            or "\x00" in segments[-1]
        ):
            missing.append(path)
            continue
        names[segments[-1]] = f"{res.path}{seg(segments[-1])}"
    if len(names) + len(missing) > MAX_MULTIGET:
        raise DavError(403, message=_("Ask for at most %(n)d cards at once.") % {"n": MAX_MULTIGET})
    assert res.book is not None
    render = CardRenderer(wanted)
    rows = _rows_by_href(render, res.book, list(names))
    out = []
    for card, path in names.items():
        row = rows.get(card)
        out.append(render(path, row) if row is not None else xml.status_response(path, 404))
    out += [xml.status_response(path, 404) for path in missing]
    return xml.multistatus(out)


def query(res: Resource, root: Element) -> str:
    wanted = wanted_props(root)
    card_filter = carddav.parse_filter(xml.find(root, CARDDAV, "filter"))
    limit = _limit(root, CARDDAV)
    candidates = carddav.prefilter(Contact.objects.filter(book=res.book), card_filter).order_by("sort_key", "pk")
    out: list[str] = []
    truncated = False
    render = CardRenderer(wanted)
    columns = render.columns[1:]
    for href, text, *values in candidates.values_list("href", "vcard", *columns):
        if not carddav.card_matches(card_filter, text):
            continue
        if limit is not None and len(out) >= limit:
            truncated = True
            break
        out.append(render(f"{res.path}{seg(href)}", (href, *values)))
    if truncated:
        out.append(xml.status_response(res.path, 507, TRUNCATED))
    return xml.multistatus(out)


def sync(res: Resource, root: Element) -> str:
    assert res.book is not None
    book = res.book
    wanted = wanted_props(root)
    level = xml.find(root, DAV, "sync-level")
    if level is not None and (level.text or "").strip() not in ("1", "infinite"):
        raise DavError(400, message=_("sync-level must be 1 or infinite."))
    limit = _limit(root, DAV)
    token_element = xml.find(root, DAV, "sync-token")
    if token_element is None:
        raise DavError(400, message=_("sync-collection needs a sync-token element (empty for a first sync)."))
    token_text = (token_element.text or "").strip() if token_element is not None else ""
    out: list[str] = []
    render = CardRenderer(wanted)
    if not token_text and limit is None:
        # Initial sync: every card, with the token read first so nothing written meanwhile is missed.
        token = current_token(book)
        for row in render.rows(Contact.objects.filter(book=book).order_by("pk")):
            out.append(render(f"{res.path}{seg(row[0])}", row))
        return xml.multistatus(out, f"<d:sync-token>{xml.text(sync_token(book, token))}</d:sync-token>")
    if token_text:
        since = parse_sync_token(book, token_text)
        if since is None:
            raise DavError(403, (DAV, "valid-sync-token"), _("This sync token is unknown; sync again from scratch."))
    else:
        since = 0
    changes = changes_since(book, since, limit=limit)
    present = [name for name, deleted in changes.changed.items() if not deleted]
    rows = _rows_by_href(render, book, present)
    for name, deleted in changes.changed.items():
        path = f"{res.path}{seg(name)}"
        found: CardRow | None = None if deleted else rows.get(name)
        if found is not None:
            out.append(render(path, found))
        elif since:  # an initial sync never lists removed members (RFC 6578 section 3.8)
            out.append(xml.status_response(path, 404))
    if changes.truncated:
        out.append(xml.status_response(res.path, 507, TRUNCATED))
    return xml.multistatus(out, f"<d:sync-token>{xml.text(sync_token(book, changes.token))}</d:sync-token>")
