"""Path → resource: what a DAV URL names, checked against the signed-in user.

The layout is fixed (clients and the benchmark rely on it):

    /dav/                                         root (current-user-principal)
    /dav/principals/<username>/                   a principal
    /dav/addressbooks/<username>/                 address-book home: own books + `shared-<id>` aliases
    /dav/addressbooks/<username>/<dav_name>/      a book (the personal one is `contacts`)
    /dav/addressbooks/<username>/<dav_name>/<href> a card

Every book goes through apps.contacts.access; another person's principal, home, book or card is a
404 (it does not exist for you). A calendar backend adds its own top segment (`/dav/calendars/`)
and kinds here, reusing the rest of the layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

from django.http import Http404

from apps.contacts.access import address_book_for_user, book_level
from apps.contacts.models import AddressBook
from apps.contacts.services import PERSONAL_DAV_NAME, book_ensure_personal
from apps.core.sharing import ShareLevel
from apps.dav.errors import DavError

if TYPE_CHECKING:
    from apps.accounts.models import User

ROOT = "/dav/"
SHARED_PREFIX = "shared-"
_SAFE = "@+=,:;~!$&'()*"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Kind(StrEnum):
    ROOT = "root"
    PRINCIPALS = "principals"
    PRINCIPAL = "principal"
    HOMES = "addressbooks"
    HOME = "home"
    BOOK = "book"
    CARD = "card"


_PLAIN = re.compile(r"[A-Za-z0-9._~@+=-]*")


def seg(text: str) -> str:
    """One path segment, percent-encoded (most names need nothing: skip the quoting work)."""
    return text if _PLAIN.fullmatch(text) else quote(text, safe=_SAFE)


def principal_path(username: str) -> str:
    return f"{ROOT}principals/{seg(username)}/"


def home_path(username: str) -> str:
    return f"{ROOT}addressbooks/{seg(username)}/"


def book_segment(book: AddressBook, user_id: int) -> str:
    """The book's name under the user's home: its dav_name if theirs, else its shared alias."""
    return book.dav_name if book.owner_id == user_id else f"{SHARED_PREFIX}{book.pk}"


def book_path(username: str, book: AddressBook, user_id: int) -> str:
    return f"{home_path(username)}{seg(book_segment(book, user_id))}/"


@dataclass
class Resource:
    kind: Kind
    user: User
    path: str  # canonical, percent-encoded; collections end with "/"
    book: AddressBook | None = None
    level: ShareLevel | None = None
    name: str = ""  # the last segment, decoded (a book's dav_name or a card's href, existing or not)
    parent_missing: bool = False  # a path below something that does not exist (PUT/MKCOL → 409)

    @property
    def is_collection(self) -> bool:
        return self.kind != Kind.CARD


def segments_of(path: str) -> list[str] | None:
    """Decoded segments after /dav/, or None when the path is not under it."""
    if not path.startswith(ROOT) and path != ROOT.rstrip("/"):
        return None
    rest = path[len(ROOT) :]
    return [unquote(s) for s in rest.split("/") if s]


def href_to_path(href: str) -> str:
    """The (still percent-encoded) path of an href a client sent, absolute URL or path ("" if unreadable)."""
    try:
        return urlsplit(href.strip()).path
    except ValueError:  # e.g. "http://[bad"
        return ""


def resolve(user: User, segments: list[str]) -> Resource:  # noqa: PLR0911 - one return per path kind
    """The resource named by decoded `segments` (after /dav/) for `user`; DavError 404 otherwise."""
    if any(_CONTROL.search(s) for s in segments):  # NUL and friends never name anything (PostgreSQL refuses NUL)
        raise DavError(404)
    count = len(segments)
    if count == 0:
        return Resource(Kind.ROOT, user, ROOT)
    top = segments[0]
    if top == "principals":
        if count == 1:
            return Resource(Kind.PRINCIPALS, user, f"{ROOT}principals/")
        if count == 2 and segments[1] == user.username:
            return Resource(Kind.PRINCIPAL, user, principal_path(user.username), name=user.username)
        raise DavError(404)
    if top != "addressbooks":
        raise DavError(404)
    if count == 1:
        return Resource(Kind.HOMES, user, f"{ROOT}addressbooks/")
    if segments[1] != user.username:
        raise DavError(404)
    home = home_path(user.username)
    if count == 2:
        # Your own home: you may create (bind) and remove books in it.
        return Resource(Kind.HOME, user, home, level=ShareLevel.MANAGE, name=user.username)
    book, level = _book(user, segments[2])
    if count == 3:
        path = f"{home}{seg(segments[2])}/"
        return Resource(Kind.BOOK, user, path, book=book, level=level, name=segments[2])
    if count == 4:
        path = f"{home}{seg(segments[2])}/{seg(segments[3])}"
        return Resource(Kind.CARD, user, path, book=book, level=level, name=segments[3], parent_missing=book is None)
    # Deeper than a card: nothing lives there; a write there has no parent collection.
    return Resource(Kind.CARD, user, "/".join(seg(s) for s in segments), name=segments[-1], parent_missing=True)


def _book(user: User, dav_name: str) -> tuple[AddressBook | None, ShareLevel | None]:
    if dav_name.startswith(SHARED_PREFIX):
        try:
            shared = address_book_for_user(user=user, book_id=int(dav_name[len(SHARED_PREFIX) :]))
        except (Http404, ValueError):
            raise DavError(404) from None
        if shared.owner_id == user.pk:  # your own book is reached by its own name
            raise DavError(404)
        return shared, book_level(user=user, book=shared)
    found = list(AddressBook.objects.filter(owner=user, dav_name=dav_name).order_by()[:1])
    book = found[0] if found else None
    if book is None and dav_name == PERSONAL_DAV_NAME:
        personal = book_ensure_personal(user=user)
        book = personal if personal.dav_name == PERSONAL_DAV_NAME else None
    return book, (ShareLevel.MANAGE if book is not None else None)
