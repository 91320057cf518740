"""Address-book pages: choosing the current book, creating, renaming, deleting and sharing books.

Levels (apps/contacts/access.py): read to see a book, write to change its cards, manage to rename
and share it. Deleting stays with the owner: a manage grantee can hand the book on, but not wipe
someone else's cards. Every refusal is the access functions' 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.contacts import selectors, services
from apps.contacts.access import ShareLevel, address_book_for_user
from apps.contacts.models import AddressBook
from apps.core.models import Share
from apps.core.sharing import share_grant, share_revoke, shares_of
from apps.core.types import AuthedRequest

# The book last shown to this user (in their session): /contacts/ opens it again.
SESSION_BOOK = "contacts.book"

LEVEL_CHOICES = [(level.value, level.label) for level in ShareLevel]


def list_url(book: AddressBook) -> str:
    return reverse("contacts:list") + f"?book={book.pk}"


# ---------------------------------------------------------------- the current book
@dataclass(frozen=True)
class BookChoice:
    current: selectors.VisibleBook
    books: list[selectors.VisibleBook]


def book_choice(request: AuthedRequest, wanted: str | None) -> BookChoice:
    """The book to show: `wanted` (from ?book=), else the remembered one, else the personal book.

    The candidates are `books_for_user`, which reads the same shares as the access functions, so
    a book outside that list is a 404 here too — at two queries for the whole list and the choice.
    """
    books = selectors.books_for_user(user=request.user)
    if not any(v.owned and v.book.personal for v in books):
        services.book_ensure_personal(user=request.user)
        books = selectors.books_for_user(user=request.user)
    by_id = {v.book.pk: v for v in books}
    if wanted:
        try:
            current = by_id[int(wanted)]
        except (KeyError, ValueError):
            raise Http404 from None
        # Only an explicit choice is written: the common visit saves no session.
        if request.session.get(SESSION_BOOK) != current.book.pk:
            request.session[SESSION_BOOK] = current.book.pk
    else:
        remembered = request.session.get(SESSION_BOOK)
        fallback = next(v for v in books if v.owned and v.book.personal)
        current = by_id.get(remembered, fallback) if isinstance(remembered, int) else fallback
    return BookChoice(current=current, books=books)


def book_context(choice: BookChoice) -> dict[str, Any]:
    """What the list page and its includes need about the books (`book` and `level` for the tools)."""
    current = choice.current
    return {
        "book": current.book,
        "level": current.level,
        "visible_book": current,
        "book_shared": not current.owned,
        "own_books": [v for v in choice.books if v.owned],
        "shared_books": [v for v in choice.books if not v.owned],
        "can_write": current.level >= ShareLevel.WRITE,
        "can_manage": current.level >= ShareLevel.MANAGE,
        "can_delete": current.owned and not current.book.personal,
    }


# ---------------------------------------------------------------- create, rename, delete
class BookForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the address book a name."))
        return name


@login_required
@require_http_methods(["GET", "POST"])
def book_new(request: AuthedRequest) -> HttpResponse:
    form = BookForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        book = services.book_create(
            owner=request.user, name=form.cleaned_data["name"], description=form.cleaned_data["description"]
        )
        messages.success(request, _("Address book created."))
        return redirect(list_url(book))
    return render(request, "contacts/books_form.html", {"form": form, "book": None})


@login_required
@require_http_methods(["GET", "POST"])
def book_edit(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, level=ShareLevel.MANAGE)
    initial = {"name": book.name, "description": book.description}
    form = BookForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.book_update(book=book, name=form.cleaned_data["name"], description=form.cleaned_data["description"])
        messages.success(request, _("Address book saved."))
        return redirect(list_url(book))
    return render(request, "contacts/books_form.html", {"form": form, "book": book})


@login_required
@require_http_methods(["GET", "POST"])
def book_delete(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, level=ShareLevel.MANAGE)
    if book.owner_id != request.user.pk:
        raise Http404
    if book.personal:
        messages.error(request, _("Your personal address book cannot be deleted."))
        return redirect(list_url(book))
    if request.method == "POST":
        services.book_delete(book=book)
        request.session.pop(SESSION_BOOK, None)
        messages.success(request, _("Address book “%(name)s” deleted.") % {"name": book.name})
        return redirect("contacts:list")
    count = book.contacts.count()
    return render(request, "contacts/books_delete.html", {"book": book, "count": count})


# ---------------------------------------------------------------- sharing
class ShareForm(forms.Form):
    person = forms.CharField(
        label=gettext_lazy("Person"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("A username, a mail address or a name"),
    )
    group = forms.ModelChoiceField(
        label=gettext_lazy("Or a group"),
        queryset=Group.objects.order_by("name"),
        required=False,
        empty_label="—",
    )
    level = forms.TypedChoiceField(
        label=gettext_lazy("Level"), choices=LEVEL_CHOICES, coerce=int, initial=ShareLevel.READ
    )
    # Set when the person was chosen among several matches.
    person_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        has_person = bool(data.get("person") or data.get("person_id"))
        if has_person == bool(data.get("group")):
            raise ValidationError(_("Choose one person or one group."))
        return data


def _share_page(
    request: AuthedRequest,
    book: AddressBook,
    form: ShareForm,
    candidates: list[User] | None = None,
    status: int = 200,
) -> HttpResponse:
    shares = list(shares_of(book))
    return render(
        request,
        "contacts/share.html",
        {
            "book": book,
            "form": form,
            "shares": shares,
            "candidates": candidates or [],
            "level_choices": LEVEL_CHOICES,
            "has_groups": form.fields["group"].queryset.exists(),  # type: ignore[attr-defined]
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def book_share(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, level=ShareLevel.MANAGE)
    if request.method == "GET":
        return _share_page(request, book, ShareForm())
    action = request.POST.get("action", "grant")
    if action == "grant":
        return _share_grant(request, book)
    if action in ("level", "revoke"):
        return _share_change(request, book, action)
    return _share_page(request, book, ShareForm(), status=400)


@dataclass
class Grantee:
    """Who the share form names: a person, or an error in plain words, or several people to pick from."""

    person: User | None = None
    error: str = ""
    candidates: list[User] | None = None


def _find_person(request: AuthedRequest, book: AddressBook, data: dict[str, Any]) -> Grantee:
    if data["person_id"]:
        person = User.objects.filter(pk=data["person_id"], is_active=True).first()
        return Grantee(person=person) if person else Grantee(error=_("This person cannot receive a share."))
    text: str = data["person"]
    typed = text.strip().casefold()
    owner = book.owner
    if typed in {request.user.username.casefold(), request.user.email.casefold()}:
        person = request.user
    elif typed in {owner.username.casefold(), owner.email.casefold()}:
        person = owner
    else:
        found = selectors.share_candidates(text=text, exclude_ids=[book.owner_id])
        if not found:
            return Grantee(error=_("Nobody active matches “%(text)s”.") % {"text": text})
        if len(found) > 1:
            return Grantee(candidates=found)
        person = found[0]
    if person.pk == request.user.pk:
        return Grantee(error=_("You cannot share an address book with yourself."))
    if person.pk == book.owner_id:
        return Grantee(error=_("%(name)s owns this address book already.") % {"name": person.shown_name})
    return Grantee(person=person)


def _share_grant(request: AuthedRequest, book: AddressBook) -> HttpResponse:
    form = ShareForm(request.POST)
    if not form.is_valid():
        return _share_page(request, book, form, status=400)
    data = form.cleaned_data
    group: Group | None = data["group"]
    person: User | None = None
    if group is None:
        found = _find_person(request, book, data)
        if found.candidates:
            # Several people match: the page lists them and the user picks one.
            return _share_page(request, book, form, candidates=found.candidates)
        if found.error:
            form.add_error("person", found.error)
            return _share_page(request, book, form, status=400)
        person = found.person
    try:
        share_grant(
            actor=request.user,
            collection=book,
            owner_id=book.owner_id,
            level=ShareLevel(data["level"]),
            grantee_user=person,
            grantee_group=group if person is None else None,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _share_page(request, book, form, status=400)
    name = person.shown_name if person is not None else group.name if group else ""
    messages.success(request, _("Shared with %(name)s.") % {"name": name})
    return HttpResponseRedirect(reverse("contacts:book_share", args=[book.pk]))


def _share_change(request: AuthedRequest, book: AddressBook, action: str) -> HttpResponse:
    try:
        share = shares_of(book).get(pk=request.POST.get("share", ""))
    except (Share.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if action == "revoke":
        share_revoke(actor=request.user, collection=book, owner_id=book.owner_id, share_id=share.pk)
        messages.success(request, _("Sharing removed."))
    else:
        try:
            level = ShareLevel(int(request.POST.get("level", "")))
        except ValueError:
            messages.error(request, _("Unknown sharing level."))
            return HttpResponseRedirect(reverse("contacts:book_share", args=[book.pk]))
        try:
            share_grant(
                actor=request.user,
                collection=book,
                owner_id=book.owner_id,
                level=level,
                grantee_user=share.grantee_user,
                grantee_group=share.grantee_group,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Level changed."))
    return HttpResponseRedirect(reverse("contacts:book_share", args=[book.pk]))


@login_required
@require_POST
def book_leave(request: AuthedRequest, book_id: int) -> HttpResponse:
    """A grantee drops a book shared with them personally (a group's share is the owner's to remove)."""
    book = address_book_for_user(user=request.user, book_id=book_id)
    try:
        services.book_leave(user=request.user, book=book)
    except services.BookLeaveError as error:
        if error.code == "owner":
            messages.error(request, _("You own this address book: delete it instead."))
        else:
            messages.error(
                request,
                _("This address book reaches you through a group: ask its owner to remove the group's share."),
            )
        return redirect(list_url(book))
    request.session.pop(SESSION_BOOK, None)
    messages.success(request, _("You left “%(name)s”.") % {"name": book.name})
    return redirect("contacts:list")
