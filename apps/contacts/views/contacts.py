"""Contacts pages: list with search, a contact's page, the form, delete, import and export."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from apps.contacts import selectors, services, vcards
from apps.contacts.access import ShareLevel, address_book_for_user, book_level, contact_for_user
from apps.contacts.forms import ContactForm
from apps.core.types import AuthedRequest

# Characters that need a quoted display name in an address (RFC 5322 "specials").
SPECIALS = frozenset(',;:"<>@()[]\\.')


@login_required
@require_GET
@never_cache
def contact_list(request: AuthedRequest) -> HttpResponse:
    book = services.book_ensure_personal(user=request.user)
    query = request.GET.get("q", "")[:200]
    page = selectors.contact_page(book=book, query=query, number=request.GET.get("page"))
    context = {"book": book, "page": page, "query": query}
    # The search box's module asks for the results alone while the user types.
    if request.headers.get("X-Ruche-Partial") == "results":
        return render(request, "contacts/_results.html", context)
    return render(request, "contacts/list.html", context)


@login_required
@require_GET
def contact_detail(request: AuthedRequest, contact_id: int) -> HttpResponse:
    contact = contact_for_user(user=request.user, contact_id=contact_id)
    try:
        card = vcards.parse_card(contact.vcard)
    except vcards.VCardError:
        # A card a client stored that vobject cannot read any more: show what the columns hold.
        fields, addresses = vcards.CardFields(full_name=contact.full_name), []
        if contact.email:
            fields.emails = [vcards.Typed(contact.email)]
    else:
        fields, addresses = vcards.read_fields(card), vcards.addresses(card)
    compose_url = ""
    if fields.emails:
        recipient = _mailbox(contact.full_name, fields.emails[0].value)
        compose_url = reverse("mail:compose") + "?" + urlencode({"to": recipient})
    return render(
        request,
        "contacts/detail.html",
        {
            "contact": contact,
            "fields": fields,
            "addresses": addresses,
            "compose_url": compose_url,
            "can_write": book_level(user=request.user, book=contact.book) >= ShareLevel.WRITE,
        },
    )


def _mailbox(name: str, address: str) -> str:
    """`Name <address>` for the composer's To field; a name with commas or quotes is quoted (RFC 5322)."""
    if any(c in name for c in SPECIALS):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>" if name else address


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: AuthedRequest) -> HttpResponse:
    book = services.book_ensure_personal(user=request.user)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(book=book, fields=form.card_fields())
        except vcards.VCardError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contacts:detail", contact.pk)
    return render(request, "contacts/form.html", {"form": form, "contact": None})


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: AuthedRequest, contact_id: int) -> HttpResponse:
    contact = contact_for_user(user=request.user, contact_id=contact_id, write=True)
    try:
        original = vcards.read_fields(vcards.parse_card(contact.vcard))
    except vcards.VCardError as error:
        messages.error(request, _("This contact cannot be edited here: %(reason)s") % {"reason": error})
        return redirect("contacts:detail", contact.pk)
    form = ContactForm(request.POST or None, card=original)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, fields=form.card_fields())
        except vcards.VCardError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contacts:detail", contact.pk)
    return render(request, "contacts/form.html", {"form": form, "contact": contact})


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: AuthedRequest, contact_id: int) -> HttpResponse:
    contact = contact_for_user(user=request.user, contact_id=contact_id, write=True)
    if request.method == "POST":
        services.contact_delete(contact=contact)
        messages.success(request, _("Contact deleted."))
        return redirect("contacts:list")
    return render(request, "contacts/delete.html", {"contact": contact})


@login_required
@require_http_methods(["GET", "POST"])
def book_import(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    result = None
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a .vcf file to import.")
        elif upload.size is not None and upload.size > services.MAX_IMPORT_BYTES:
            error = _("The file is larger than %(size)d MiB.") % {"size": services.MAX_IMPORT_BYTES // 2**20}
        else:
            result = services.book_import(book=book, data=upload.read())
            count = result.created + result.updated
            messages.success(
                request, ngettext("%(n)d contact imported.", "%(n)d contacts imported.", count) % {"n": count}
            )
    return render(request, "contacts/import.html", {"book": book, "result": result, "error": error})


@login_required
@require_GET
def book_export(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id)
    response = HttpResponse(services.book_export(book=book), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="contacts.vcf"'
    return response
