"""DAV properties of each resource kind, and sync tokens.

Collection properties are computed lazily (a callable per name: asking for `displayname` does not
count the shares). Cards are answered in bulk from plain `values_list` rows, so a PROPFIND Depth 1
of a big book costs one query and one string template per card.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.http import http_date

from apps.contacts.models import AddressBook, Contact
from apps.core.changes import current_token
from apps.core.models import Change
from apps.core.sharing import ShareLevel, shares_of
from apps.dav import xml
from apps.dav.carddav import COLLATIONS
from apps.dav.resources import ROOT, Kind, Resource, home_path, principal_path
from apps.dav.xml import CARDDAV, CS, DAV, Name, Raw

CARD_CONTENT_TYPE = "text/vcard; charset=utf-8"
SYNC_PREFIX = "http://ruche.invalid/sync/"
_TOKEN = re.compile(r"^http://ruche\.invalid/sync/(\d{1,18})-(\d{1,18})$")


class Forbidden:
    """Marks a property the user may not read (answered 403 in its propstat)."""


FORBIDDEN = Forbidden()


# ---------------------------------------------------------------- sync tokens
def sync_token(book: AddressBook, token: int | None = None) -> str:
    """The book's token as a URI; the book's id in it makes another book's token detectable."""
    return f"{SYNC_PREFIX}{book.pk}-{current_token(book) if token is None else token}"


def parse_sync_token(book: AddressBook, text: str) -> int | None:
    """The change id in a token this book issued, None when it is not one (DAV:valid-sync-token)."""
    found = _TOKEN.match(text.strip())
    if found is None or int(found.group(1)) != book.pk:
        return None
    token = int(found.group(2))
    if token == 0:
        return 0
    exists = Change.objects.filter(pk=token, collection_kind=AddressBook.share_kind, collection_id=book.pk).exists()
    return token if exists else None


# ---------------------------------------------------------------- values
def privileges(level: ShareLevel | None) -> Raw:
    names = ["read", "read-current-user-privilege-set"]
    if level is not None and level >= ShareLevel.WRITE:
        names += ["write-content", "bind", "unbind"]
    if level is not None and level >= ShareLevel.MANAGE:
        names += ["all", "write", "write-properties", "read-acl"]
    return Raw("".join(f"<d:privilege><d:{n}/></d:privilege>" for n in names))


def _reports(names: Iterable[Name]) -> Raw:
    return Raw(
        "".join(f"<d:supported-report><d:report>{xml.element(n)}</d:report></d:supported-report>" for n in names)
    )


BOOK_REPORTS = ((CARDDAV, "addressbook-query"), (CARDDAV, "addressbook-multiget"), (DAV, "sync-collection"))
_ACE = "<d:ace><d:principal>{who}</d:principal><d:grant>{grant}</d:grant>{protected}</d:ace>"


def _acl(book: AddressBook) -> Raw:
    """The owner's and each share's ACE (read-only: sharing is changed in Ruche, not by DAV:acl)."""
    aces = [
        _ACE.format(
            who=xml.href(principal_path(book.owner.username)),
            grant=privileges(ShareLevel.MANAGE).xml,
            protected="<d:protected/>",
        )
    ]
    for share in shares_of(book):
        if share.grantee_user is not None:
            who = xml.href(principal_path(share.grantee_user.username))
        elif share.grantee_group is not None:
            who = xml.href(f"{ROOT}principals/groups/{xml.text(share.grantee_group.name)}/")
        else:  # pragma: no cover - a share always has one grantee
            continue
        aces.append(_ACE.format(who=who, grant=privileges(ShareLevel(share.level)).xml, protected="<d:protected/>"))
    return Raw("".join(aces))


def _resourcetype(res: Resource) -> Raw:
    if res.kind == Kind.PRINCIPAL:
        return Raw("<d:collection/><d:principal/>")
    if res.kind == Kind.BOOK:
        return Raw("<d:collection/><card:addressbook/>")
    return Raw("<d:collection/>")


def collection_props(res: Resource) -> dict[Name, Callable[[], Any]]:
    """Every property of a non-card resource, each as a callable (computed only when asked)."""
    user = res.user
    me = principal_path(user.username)
    props: dict[Name, Callable[[], Any]] = {
        (DAV, "resourcetype"): lambda: _resourcetype(res),
        (DAV, "current-user-principal"): lambda: xml.hrefs([me]),
        (DAV, "principal-collection-set"): lambda: xml.hrefs([f"{ROOT}principals/"]),
        (DAV, "current-user-privilege-set"): lambda: privileges(res.level or ShareLevel.READ),
        (DAV, "supported-report-set"): lambda: _reports(BOOK_REPORTS if res.kind == Kind.BOOK else ()),
    }
    if res.kind == Kind.ROOT:
        props[(DAV, "displayname")] = lambda: "Ruche"
    elif res.kind in (Kind.PRINCIPALS, Kind.HOMES):
        props[(DAV, "displayname")] = lambda: res.kind.value
    elif res.kind == Kind.PRINCIPAL:
        props.update(
            {
                (DAV, "displayname"): lambda: user.shown_name,
                (DAV, "principal-URL"): lambda: xml.hrefs([me]),
                (DAV, "owner"): lambda: xml.hrefs([me]),
                (CARDDAV, "addressbook-home-set"): lambda: xml.hrefs([home_path(user.username)]),
                (DAV, "alternate-URI-set"): lambda: xml.hrefs([f"mailto:{user.email}"] if user.email else []),
                (CS, "email-address-set"): lambda: Raw(
                    f"<cs:email-address>{xml.text(user.email)}</cs:email-address>" if user.email else ""
                ),
            }
        )
    elif res.kind == Kind.HOME:
        props[(DAV, "displayname")] = lambda: user.shown_name
        props[(DAV, "owner")] = lambda: xml.hrefs([me])
    elif res.kind == Kind.BOOK and res.book is not None:
        book = res.book
        tokens: list[str] = []

        def token() -> str:  # sync-token and getctag are asked together: one query for both
            if not tokens:
                tokens.append(sync_token(book))
            return tokens[0]

        props.update(
            {
                (DAV, "displayname"): lambda: book.name,
                (CARDDAV, "addressbook-description"): lambda: book.description,
                (DAV, "owner"): lambda: xml.hrefs([principal_path(book.owner.username)]),
                (DAV, "sync-token"): token,
                (CS, "getctag"): token,
                (CARDDAV, "supported-address-data"): lambda: Raw(
                    '<card:address-data-type content-type="text/vcard" version="3.0"/>'
                    '<card:address-data-type content-type="text/vcard" version="4.0"/>'
                ),
                (CARDDAV, "max-resource-size"): lambda: settings.RUCHE_DAV_MAX_CARD_BYTES,
                (CARDDAV, "supported-collation-set"): lambda: Raw(
                    "".join(f"<card:supported-collation>{c}</card:supported-collation>" for c in COLLATIONS)
                ),
                (DAV, "acl"): lambda: _acl(book) if res.level == ShareLevel.MANAGE else FORBIDDEN,
            }
        )
    return props


# Left out of allprop: costly or access-controlled (RFC 4918 lets allprop omit live properties).
NOT_IN_ALLPROP = {(DAV, "acl"), (CARDDAV, "address-data")}


def answer(path: str, available: dict[Name, Callable[[], Any]], wanted: list[Name] | None) -> str:
    """One DAV:response: `wanted` None means allprop."""
    names = [n for n in available if n not in NOT_IN_ALLPROP] if wanted is None else wanted
    found: dict[Name, Any] = {}
    missing: list[Name] = []
    forbidden: list[Name] = []
    for name in names:
        getter = available.get(name)
        if getter is None:
            missing.append(name)
            continue
        value = getter()
        if value is FORBIDDEN:
            forbidden.append(name)
        else:
            found[name] = value
    return xml.response(path, found, missing, forbidden)


def propname_answer(path: str, available: Iterable[Name]) -> str:
    return xml.response(path, dict.fromkeys(available, ""))


# ---------------------------------------------------------------- cards in bulk
# A card property: the Contact column it reads (None: a constant), how it is written, whether the
# written value needs XML escaping.
CardRow = tuple[Any, ...]  # values_list row: href first, then CardRenderer.columns[1:]


@dataclass(frozen=True)
class CardProp:
    column: str | None
    render: Callable[[Any], str]
    escape: bool = False


CARD_PROPS: dict[Name, CardProp] = {
    (DAV, "getetag"): CardProp("etag", lambda v: f'"{v}"'),
    (DAV, "getcontenttype"): CardProp(None, lambda v: CARD_CONTENT_TYPE),
    (DAV, "getlastmodified"): CardProp("updated", lambda v: http_date(v.timestamp())),
    (DAV, "resourcetype"): CardProp(None, lambda v: ""),
    (DAV, "getcontentlength"): CardProp("vcard", lambda v: str(len(v.encode()))),
    (CARDDAV, "address-data"): CardProp("vcard", str, escape=True),
}
_OK = xml.status_line(200)


class CardRenderer:
    """Writes the DAV:response of many cards for one list of wanted properties (None: allprop).

    Everything that does not depend on the card (tags, the 404 propstat of unknown names, the
    columns to read) is prepared once, so each card costs one small string join.
    """

    def __init__(self, wanted: list[Name] | None) -> None:
        names = [n for n in CARD_PROPS if n not in NOT_IN_ALLPROP] if wanted is None else wanted
        known = [n for n in names if n in CARD_PROPS]
        missing = [n for n in names if n not in CARD_PROPS]
        self.columns: list[str] = ["href"]
        for name in known:
            column = CARD_PROPS[name].column
            if column is not None and column not in self.columns:
                self.columns.append(column)
        self._parts: list[tuple[str, str, int | None, CardProp]] = []
        for name in known:
            prop = CARD_PROPS[name]
            open_tag, close_tag = xml.tag(name)
            index = self.columns.index(prop.column) if prop.column is not None else None
            self._parts.append((open_tag, close_tag, index, prop))
        self._tail = xml.propstat(404, (xml.element(n) for n in missing)) if missing else ""
        self._has_found = bool(known)

    def rows(self, contacts: Any) -> Iterable[CardRow]:
        return contacts.values_list(*self.columns)  # one fetch: a server-side cursor costs round trips

    def row_of(self, contact: Contact) -> CardRow:
        return tuple(getattr(contact, column) for column in self.columns)

    def __call__(self, path: str, row: CardRow) -> str:
        body = ""
        if self._has_found:
            values = []
            for open_tag, close_tag, index, prop in self._parts:
                value = prop.render(row[index] if index is not None else None)
                if prop.escape:
                    value = xml.text(value)
                values.append(f"<{open_tag}>{value}</{close_tag}>" if value else f"<{open_tag}/>")
            body = f"<d:propstat><d:prop>{''.join(values)}</d:prop>{_OK}</d:propstat>"
        return f"<d:response>{xml.href(path)}{body}{self._tail}</d:response>"
