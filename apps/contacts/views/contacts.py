"""Contacts pages: list with search, a contact's page, the form, delete, import and export."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.contacts import photos, selectors, services, vcards
from apps.contacts.access import ShareLevel, address_book_for_user, book_level, contact_for_user
from apps.contacts.forms import ContactForm
from apps.contacts.views.books import book_choice, book_context, list_url
from apps.core.types import AuthedRequest

# Characters that need a quoted display name in an address (RFC 5322 "specials").
SPECIALS = frozenset(',;:"<>@()[]\\.')


@login_required
@require_GET
@never_cache
def contact_list(request: AuthedRequest) -> HttpResponse:
    choice = book_choice(request, request.GET.get("book"))
    book = choice.current.book
    query = request.GET.get("q", "")[:200]
    page = selectors.contact_page(
        book=book, query=query, after=request.GET.get("after", ""), before=request.GET.get("before", "")
    )
    context = {**book_context(choice), "page": page, "query": query}
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
        fields, addresses, has_photo = vcards.CardFields(full_name=contact.full_name), [], False
        if contact.email:
            fields.emails = [vcards.Typed(contact.email)]
    else:
        fields, addresses = vcards.read_fields(card), vcards.addresses(card)
        # Only a photo that redraws is announced (a broken one would show a broken image).
        has_photo = photos.has_photo_property(card) and photos.contact_photo_jpeg(contact) is not None
    level = book_level(user=request.user, book=contact.book)
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
            "can_write": level >= ShareLevel.WRITE,
            "has_photo": has_photo,
            # The book the card is in, named on the page when it is not the user's own.
            "book": contact.book,
            "book_shared": contact.book.owner_id != request.user.pk,
            "level": level,
        },
    )


class NewContactForm(ContactForm):
    """The contact form plus the book to create the card in (only books the user can write).

    The field is listed first; form.html renders every plain field in order, so it shows without
    a template change.
    """

    # Not required: a client that posts no book gets the current one.
    book = forms.TypedChoiceField(label=gettext_lazy("Address book"), coerce=int, required=False, empty_value=None)
    field_order = ("book",)

    def __init__(self, *args: Any, books: list[selectors.VisibleBook], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["book"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(v.book.pk, _book_label(v)) for v in books]


def _book_label(visible: selectors.VisibleBook) -> str:
    """A book's name, with its owner's when it is someone else's (two books may share a name)."""
    if visible.owned:
        return visible.book.name
    return _("%(name)s (shared by %(owner)s)") % {"name": visible.book.name, "owner": visible.book.owner.shown_name}


def _mailbox(name: str, address: str) -> str:
    """`Name <address>` for the composer's To field; a name with commas or quotes is quoted (RFC 5322)."""
    if any(c in name for c in SPECIALS):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>" if name else address


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: AuthedRequest) -> HttpResponse:
    choice = book_choice(request, request.GET.get("book"))
    writable = [v for v in choice.books if v.level >= ShareLevel.WRITE]
    current = choice.current.book if choice.current.level >= ShareLevel.WRITE else writable[0].book
    form = NewContactForm(request.POST or None, books=writable, initial={"book": current.pk})
    if request.method == "POST" and form.is_valid():
        # The form offered only writable books; the access function decides again at write time.
        book = address_book_for_user(user=request.user, book_id=form.cleaned_data["book"] or current.pk, write=True)
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
        return redirect(list_url(contact.book))
    return render(request, "contacts/delete.html", {"contact": contact})


def upload_error(upload: UploadedFile | None) -> str:
    """Why an uploaded .vcf file cannot be imported, in words; "" when it can (both import pages)."""
    if upload is None:
        return _("Choose a .vcf file to import.")
    if upload.size is not None and upload.size > services.MAX_IMPORT_BYTES:
        return _("The file is larger than %(size)d MiB.") % {"size": services.MAX_IMPORT_BYTES // 2**20}
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def book_import(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    result = None
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        error = upload_error(upload)
        if upload is not None and not error:
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


@login_required
@require_GET
def contact_photo(request: AuthedRequest, contact_id: int) -> HttpResponse:
    """The contact's photo as Ruche's own JPEG redraw (never the card's bytes), or 404."""
    contact = contact_for_user(user=request.user, contact_id=contact_id)
    jpeg = photos.contact_photo_jpeg(contact)
    if jpeg is None:
        raise Http404
    response = HttpResponse(jpeg, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = "inline"
    return response


@login_required
@require_POST
def contact_photo_set(request: AuthedRequest, contact_id: int) -> HttpResponse:
    """Sets the photo from an upload, or removes it ("remove" in the form)."""
    contact = contact_for_user(user=request.user, contact_id=contact_id, write=True)
    upload = request.FILES.get("photo")
    try:
        if request.POST.get("remove"):
            services.contact_photo_set(contact=contact, image=None)
            messages.success(request, _("Photo removed."))
        elif upload is None:
            messages.error(request, _("Choose a picture first."))
        elif upload.size is None or upload.size > settings.RUCHE_AVATAR_MAX_BYTES:
            messages.error(request, _("The picture is too large."))
        else:
            services.contact_photo_set(contact=contact, image=upload.read())
            messages.success(request, _("Photo saved."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except vcards.VCardError as error:
        messages.error(request, str(error))
    return redirect("contacts:detail", contact.pk)
