"""One function per HTTP method of the DAV layer (RFC 4918, 5689, 6352, 6578).

Each takes the request and the already-resolved resource, checks the share level the method needs
(read: PROPFIND/REPORT/GET; write: PUT/DELETE/COPY/MOVE of cards; manage: PROPPATCH of a book;
DELETE of a book: its owner deletes it, a grantee leaves the share), calls one service or report,
and returns the response. Errors are `DavError`s, which the view turns into a status with an RFC
precondition body.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date
from django.utils.translation import gettext as _

from apps.contacts import services, vcards
from apps.contacts.models import Contact
from apps.contacts.selectors import books_for_user
from apps.contacts.services import PERSONAL_DAV_NAME, book_ensure_personal
from apps.core.sharing import ShareLevel
from apps.dav import props, reports, xml
from apps.dav.errors import DavError
from apps.dav.resources import (
    ROOT,
    SHARED_PREFIX,
    Kind,
    Resource,
    book_path,
    href_to_path,
    principal_path,
    resolve,
    seg,
    segments_of,
)
from apps.dav.xml import CARDDAV, DAV, Name

DAV_HEADER = "1, 3, addressbook, extended-mkcol"
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, REPORT"
XML_TYPE = "application/xml; charset=utf-8"
VCARD_TYPES = {"text/vcard", "text/x-vcard", "text/directory", ""}
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f]")


# ---------------------------------------------------------------- helpers
def multistatus_response(text: str) -> HttpResponse:
    return HttpResponse(text.encode(), status=207, content_type=XML_TYPE)


def read_body(request: HttpRequest) -> bytes:
    """The body, refused with 413 above RUCHE_DAV_MAX_BODY_BYTES (before reading it when announced)."""
    cap = settings.RUCHE_DAV_MAX_BODY_BYTES
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise DavError(400, message=_("Bad Content-Length.")) from None
    if announced > cap:
        raise DavError(413, message=_("The request body is too large."))
    data = request.read(cap + 1)
    if len(data) > cap:
        raise DavError(413, message=_("The request body is too large."))
    return data


def parse_xml_body(request: HttpRequest) -> Element | None:
    body = read_body(request)
    if not body.strip():
        return None
    return xml.parse(body)


def need(res: Resource, level: ShareLevel) -> None:
    """403 when the user reaches the resource but with too low a level (it is visible to them)."""
    if res.level is None or res.level < level:
        raise DavError(403, (DAV, "need-privileges"), _("Your share does not allow this."))


def etag_list(header: str | None) -> list[str] | None:
    """An If-Match / If-None-Match header as unquoted etags (weak ones compare by their value)."""
    if header is None:
        return None
    if header.strip() == "*":
        return ["*"]
    return [t.strip().removeprefix("W/").strip('"') for t in header.split(",") if t.strip()]


def check_name(name: str) -> None:
    if not name or len(name) > 255 or name.startswith(".") or _BAD_NAME.search(name):
        raise DavError(400, message=_("This resource name is not allowed."))


def existing_contact(res: Resource) -> Contact:
    if res.book is None or res.parent_missing:
        raise DavError(404)
    contact = Contact.objects.filter(book=res.book, href=res.name).first()
    if contact is None:
        raise DavError(404)
    return contact


def with_etag(response: HttpResponse, contact: Contact) -> HttpResponse:
    response["ETag"] = f'"{contact.etag}"'
    return response


# ---------------------------------------------------------------- OPTIONS / GET / HEAD
def options(request: HttpRequest, res: Resource) -> HttpResponse:
    response = HttpResponse(b"")
    response["DAV"] = DAV_HEADER
    response["Allow"] = ALLOW
    response["Content-Length"] = "0"
    return response


def get(request: HttpRequest, res: Resource) -> HttpResponse:
    head = request.method == "HEAD"
    if res.kind == Kind.CARD:
        contact = existing_contact(res)
        body = contact.vcard.encode()
        inm = etag_list(request.headers.get("If-None-Match"))
        if inm is not None and ("*" in inm or contact.etag in inm):
            return with_etag(HttpResponse(status=304), contact)
        response = HttpResponse(b"" if head else body, content_type=props.CARD_CONTENT_TYPE)
        response["Content-Length"] = str(len(body))
        response["Last-Modified"] = http_date(contact.updated.timestamp())
        return with_etag(response, contact)
    if res.kind == Kind.BOOK:
        if res.book is None:
            raise DavError(404)
        body = services.book_export(book=res.book).encode()
        response = HttpResponse(b"" if head else body, content_type=props.CARD_CONTENT_TYPE)
        response["Content-Length"] = str(len(body))
        return response
    body = b"Ruche DAV server\n"
    response = HttpResponse(b"" if head else body, content_type="text/plain; charset=utf-8")
    response["Content-Length"] = str(len(body))
    return response


# ---------------------------------------------------------------- PROPFIND / PROPPATCH
def _propfind_request(root: Element | None) -> tuple[list[Name] | None, bool]:
    """(wanted names or None for allprop, propname?)."""
    if root is None:
        return None, False
    if xml.qname(root) != (DAV, "propfind"):
        raise DavError(400, message=_("The body must be a DAV:propfind."))
    if xml.find(root, DAV, "propname") is not None:
        return None, True
    prop = xml.find(root, DAV, "prop")
    if prop is not None:
        return xml.prop_names(prop), False
    return None, False


def _children(res: Resource) -> list[Resource]:
    user = res.user
    if res.kind == Kind.ROOT:
        return [
            Resource(Kind.PRINCIPALS, user, f"{ROOT}principals/"),
            Resource(Kind.HOMES, user, f"{ROOT}addressbooks/"),
        ]
    if res.kind == Kind.PRINCIPALS:
        return [Resource(Kind.PRINCIPAL, user, principal_path(user.username), name=user.username)]
    if res.kind == Kind.HOMES:
        return [resolve(user, ["addressbooks", user.username])]
    if res.kind == Kind.HOME:
        book_ensure_personal(user=user)
        return [
            Resource(Kind.BOOK, user, book_path(user.username, v.book, user.pk), book=v.book, level=v.level)
            for v in books_for_user(user=user)
        ]
    return []


def propfind(request: HttpRequest, res: Resource) -> HttpResponse:
    depth = request.headers.get("Depth", "infinity").strip().lower()
    if depth == "infinity":
        raise DavError(403, (DAV, "propfind-finite-depth"), _("Depth: infinity is not supported."))
    if depth not in ("0", "1"):
        raise DavError(400, message=_("Depth must be 0 or 1."))
    wanted, propname = _propfind_request(parse_xml_body(request))
    out: list[str] = []
    if res.kind == Kind.CARD:
        contact = existing_contact(res)
        if propname:
            out.append(props.propname_answer(res.path, props.CARD_PROPS))
        else:
            render = props.CardRenderer(wanted)
            out.append(render(res.path, render.row_of(contact)))
        return multistatus_response(xml.multistatus(out))
    if res.kind == Kind.BOOK and res.book is None:
        raise DavError(404)
    for item in [res, *(_children(res) if depth == "1" else [])]:
        available = props.collection_props(item)
        out.append(
            props.propname_answer(item.path, available) if propname else props.answer(item.path, available, wanted)
        )
    if depth == "1" and res.kind == Kind.BOOK and res.book is not None:
        contacts = Contact.objects.filter(book=res.book).order_by("pk")
        if propname:
            names = list(props.CARD_PROPS)
            hrefs = contacts.values_list("href", flat=True)
            out += [props.propname_answer(f"{res.path}{seg(h)}", names) for h in hrefs]
        else:
            render = props.CardRenderer(wanted)
            out += [render(f"{res.path}{seg(row[0])}", row) for row in render.rows(contacts)]
    return multistatus_response(xml.multistatus(out))


WRITABLE_BOOK_PROPS = {(DAV, "displayname"), (CARDDAV, "addressbook-description")}


def proppatch(request: HttpRequest, res: Resource) -> HttpResponse:
    root = parse_xml_body(request)
    if root is None or xml.qname(root) != (DAV, "propertyupdate"):
        raise DavError(400, message=_("The body must be a DAV:propertyupdate."))
    if res.kind == Kind.CARD:
        existing_contact(res)
    if res.kind == Kind.BOOK and res.book is None:
        raise DavError(404)
    changes: list[tuple[Name, str | None]] = []
    for action in root:
        kind = xml.qname(action)
        if kind not in ((DAV, "set"), (DAV, "remove")):
            raise DavError(400, message=_("Unknown PROPPATCH instruction."))
        prop = xml.find(action, DAV, "prop")
        for child in prop if prop is not None else []:
            value = "".join(child.itertext()) if kind == (DAV, "set") else None
            changes.append((xml.qname(child), value))
    can_write = res.kind == Kind.BOOK and res.level == ShareLevel.MANAGE
    refused = [name for name, _v in changes if not can_write or name not in WRITABLE_BOOK_PROPS]
    if refused:
        # All or nothing (RFC 4918 section 9.2): the others fail with 424.
        others = [name for name, _v in changes if name not in refused]
        text = f"<d:response>{xml.href(res.path)}"
        text += xml.propstat(403, (xml.element(n) for n in refused))
        if others:
            text += xml.propstat(424, (xml.element(n) for n in others))
        return multistatus_response(xml.multistatus([text + "</d:response>"]))
    assert res.book is not None
    name = description = None
    for prop_name, value in changes:
        if prop_name == (DAV, "displayname"):
            name = (value or "").strip()[:200] or None  # an empty name keeps the current one
        else:
            description = (value or "")[:5000]
    services.book_update(book=res.book, name=name, description=description)
    ok = xml.response(res.path, {n: "" for n, _v in changes})
    return multistatus_response(xml.multistatus([ok]))


# ---------------------------------------------------------------- PUT / DELETE
def _decode_card(request: HttpRequest, body: bytes) -> str:
    charset = request.content_params.get("charset", "utf-8") if request.content_params else "utf-8"
    try:
        codecs.lookup(charset)
        text = body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise DavError(
            400, (CARDDAV, "valid-address-data"), _("The card is not valid text in %(c)s.") % {"c": charset[:40]}
        ) from None
    if "\x00" in text:
        raise DavError(400, (CARDDAV, "valid-address-data"), _("The card holds a NUL character."))
    return text.removeprefix("\ufeff")


def put(request: HttpRequest, res: Resource) -> HttpResponse:
    if res.is_collection:
        raise DavError(405, message=_("PUT needs a card URL."), headers={"Allow": ALLOW})
    if res.parent_missing or res.book is None:
        raise DavError(409, message=_("The address book does not exist."))
    need(res, ShareLevel.WRITE)
    check_name(res.name)
    content_type = (request.content_type or "").lower()
    if content_type not in VCARD_TYPES:
        raise DavError(415, (CARDDAV, "supported-address-data"), _("Only text/vcard is accepted here."))
    body = read_body(request)
    if len(body) > settings.RUCHE_DAV_MAX_CARD_BYTES:
        # RFC 6352 section 6.3.2.1: a precondition, so 403 with CARDDAV:max-resource-size.
        raise DavError(403, (CARDDAV, "max-resource-size"), _("The card is larger than this server accepts."))
    text = _decode_card(request, body)
    if len(re.findall(r"(?im)^BEGIN:VCARD\s*$", text)) > 1:
        raise DavError(400, (CARDDAV, "valid-address-data"), _("Send one vCard per resource."))
    try:
        contact, created = services.contact_put(
            book=res.book,
            href=res.name,
            text=text,
            if_match=etag_list(request.headers.get("If-Match")),
            if_none_match=etag_list(request.headers.get("If-None-Match")),
        )
    except vcards.VCardError as error:
        raise DavError(400, (CARDDAV, "valid-address-data"), str(error)) from None
    except services.ContactPreconditionError:
        raise DavError(412, message=_("The card changed or exists (If-Match / If-None-Match).")) from None
    except services.ContactUidConflictError as conflict:
        extra = xml.href(f"{res.path.rsplit('/', 1)[0]}/{seg(conflict.href)}")
        raise DavError(409, (CARDDAV, "no-uid-conflict"), _("Another card has this UID."), extra=extra) from None
    except IntegrityError:
        raise DavError(409, message=_("The card was written at the same time by another request.")) from None
    response = HttpResponse(status=201 if created else 204)
    if contact.vcard == text:  # RFC 6352 section 6.3.2.3: no ETag when the stored card differs
        with_etag(response, contact)
    return response


def delete(request: HttpRequest, res: Resource) -> HttpResponse:
    if res.kind == Kind.CARD:
        if res.book is None or res.parent_missing:
            raise DavError(404)
        need(res, ShareLevel.WRITE)
        try:
            found = services.contact_delete_checked(
                book=res.book, href=res.name, if_match=etag_list(request.headers.get("If-Match"))
            )
        except services.ContactPreconditionError:
            raise DavError(412, message=_("The card changed (If-Match).")) from None
        if not found:
            raise DavError(404)
        return HttpResponse(status=204)
    if res.kind == Kind.BOOK:
        if res.book is None:
            raise DavError(404)
        if res.book.owner_id == res.user.pk:
            try:
                services.book_delete(book=res.book)
            except services.PersonalBookError:
                raise DavError(
                    403, (DAV, "need-privileges"), _("The personal address book cannot be deleted.")
                ) from None
            return HttpResponse(status=204)
        # A grantee "deleting" a shared book in their client leaves the share, as in the browser:
        # nobody but the owner wipes the owner's cards.
        try:
            services.book_leave(user=res.user, book=res.book)
        except services.BookLeaveError:
            raise DavError(403, (DAV, "need-privileges"), _("This book reaches you through a group.")) from None
        return HttpResponse(status=204)
    raise DavError(403, message=_("This collection cannot be deleted."))


# ---------------------------------------------------------------- MKCOL
def _mkcol_failure(path: str, refused: list[Name], others: list[Name]) -> HttpResponse:
    text = f"<d:propstat><d:prop>{''.join(xml.element(n) for n in refused)}</d:prop>{xml.status_line(403)}</d:propstat>"
    if others:
        text += xml.propstat(424, (xml.element(n) for n in others))
    body = xml.document((DAV, "mkcol-response"), text)
    return HttpResponse(body.encode(), status=403, content_type=XML_TYPE)


def mkcol(request: HttpRequest, res: Resource) -> HttpResponse:  # noqa: PLR0912 - RFC 5689 cases
    if res.kind != Kind.BOOK:
        if res.kind == Kind.CARD:
            if res.parent_missing:
                raise DavError(409, message=_("The parent collection does not exist."))
            raise DavError(403, message=_("An address book cannot hold collections."))
        raise DavError(405, message=_("This collection exists."), headers={"Allow": ALLOW})
    if res.book is not None:
        raise DavError(405, message=_("This collection exists."), headers={"Allow": ALLOW})
    check_name(res.name)
    if res.name.startswith(SHARED_PREFIX) or res.name == PERSONAL_DAV_NAME:
        raise DavError(403, message=_("This name is reserved."))
    root = parse_xml_body(request)
    name, description = res.name, ""
    if root is not None:
        if xml.qname(root) != (DAV, "mkcol"):
            raise DavError(415, message=_("MKCOL takes no body or an extended MKCOL (RFC 5689) body."))
        wanted: list[tuple[Name, Element]] = []
        for action in xml.findall(root, DAV, "set"):
            prop = xml.find(action, DAV, "prop")
            wanted += [(xml.qname(child), child) for child in (prop if prop is not None else [])]
        refused: list[Name] = []
        for prop_name, element in wanted:
            if prop_name == (DAV, "resourcetype"):
                types = {xml.qname(t) for t in element}
                if types != {(DAV, "collection"), (CARDDAV, "addressbook")}:
                    refused.append(prop_name)
            elif prop_name == (DAV, "displayname"):
                name = "".join(element.itertext()).strip()[:200] or res.name
            elif prop_name == (CARDDAV, "addressbook-description"):
                description = "".join(element.itertext())[:5000]
            else:
                refused.append(prop_name)
        if refused:
            return _mkcol_failure(res.path, refused, [n for n, _e in wanted if n not in refused])
    try:
        with transaction.atomic():
            services.book_create(owner=res.user, name=name, description=description, dav_name=res.name)
    except IntegrityError:
        raise DavError(405, message=_("This collection exists."), headers={"Allow": ALLOW}) from None
    return HttpResponse(status=201)


# ---------------------------------------------------------------- COPY / MOVE
def copy_move(request: HttpRequest, res: Resource) -> HttpResponse:  # noqa: PLR0912 - RFC 4918 cases
    moving = request.method == "MOVE"
    if res.kind != Kind.CARD:
        raise DavError(403, message=_("Only cards can be copied or moved."))
    source = existing_contact(res)
    if moving:
        need(res, ShareLevel.WRITE)
    destination = request.headers.get("Destination", "")
    if not destination:
        raise DavError(400, message=_("The Destination header is missing."))
    try:
        parts = urlsplit(destination)
    except ValueError:
        raise DavError(400, message=_("The Destination header is not a URL.")) from None
    if parts.netloc and parts.netloc.lower() != request.get_host().lower():
        raise DavError(502, message=_("The destination is on another server."))
    segments = segments_of(href_to_path(destination))
    if segments is None:
        raise DavError(502, message=_("The destination is not on this DAV server."))
    target = resolve(res.user, segments)
    if target.kind != Kind.CARD:
        raise DavError(403, message=_("The destination must be a card URL."))
    if target.parent_missing or target.book is None:
        raise DavError(409, message=_("The destination address book does not exist."))
    need(target, ShareLevel.WRITE)
    check_name(target.name)
    if target.book.pk == source.book_id and target.name == source.href:
        raise DavError(403, message=_("The source and the destination are the same."))
    overwrite = request.headers.get("Overwrite", "T").strip().upper()
    if overwrite not in ("T", "F"):
        raise DavError(400, message=_("Overwrite must be T or F."))
    try:
        with transaction.atomic():
            if moving:  # first, so a move inside one book does not conflict with its own UID
                services.contact_delete(contact=source)
            _contact, created = services.contact_put(
                book=target.book,
                href=target.name,
                text=source.vcard,
                if_none_match=["*"] if overwrite == "F" else None,
            )
    except services.ContactPreconditionError:
        raise DavError(412, message=_("The destination exists (Overwrite: F).")) from None
    except services.ContactUidConflictError as conflict:
        extra = xml.href(f"{target.path.rsplit('/', 1)[0]}/{seg(conflict.href)}")
        raise DavError(409, (CARDDAV, "no-uid-conflict"), _("Another card has this UID."), extra=extra) from None
    except vcards.VCardError as error:
        raise DavError(400, (CARDDAV, "valid-address-data"), str(error)) from None
    return HttpResponse(status=201 if created else 204)


# ---------------------------------------------------------------- REPORT
def report(request: HttpRequest, res: Resource) -> HttpResponse:
    root = parse_xml_body(request)
    if root is None:
        raise DavError(400, message=_("REPORT needs a body."))
    if res.kind != Kind.BOOK or res.book is None:
        if res.kind == Kind.BOOK:
            raise DavError(404)
        raise DavError(403, (DAV, "supported-report"), _("This report is not supported here."))
    return multistatus_response(reports.run(res, root))


HANDLERS: dict[str, Callable[[HttpRequest, Resource], HttpResponse]] = {
    "OPTIONS": options,
    "GET": get,
    "HEAD": get,
    "PUT": put,
    "DELETE": delete,
    "PROPFIND": propfind,
    "PROPPATCH": proppatch,
    "MKCOL": mkcol,
    "COPY": copy_move,
    "MOVE": copy_move,
    "REPORT": report,
}
