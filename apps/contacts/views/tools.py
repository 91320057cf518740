"""Contacts tools: groups, duplicates and merge, background import with progress.

Every book and card is reached through apps.contacts.access (a refusal is a 404); the writes are
services in apps.contacts.services.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.contacts import groups, merge, selectors, services, tasks, vcards
from apps.contacts.access import ShareLevel, address_book_for_user, book_level, contact_for_user
from apps.contacts.models import AddressBook, Contact
from apps.contacts.views.contacts import upload_error
from apps.core.types import AuthedRequest

GROUP_PAGE_SIZE = selectors.PAGE_SIZE
MAX_PAGE = 100_000


def _can_write(request: AuthedRequest, book: AddressBook) -> bool:
    return book_level(user=request.user, book=book) >= ShareLevel.WRITE


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values[: services.IMPORT_BATCH] if v.isdigit()]


@dataclass(frozen=True)
class Window:
    """One page of a list without counting the whole list (a COUNT over 50,000 cards costs more
    than the page): "next" exists when one more row than the page came back."""

    object_list: list[Contact]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def _window(rows: QuerySet[Contact], number: str | None) -> Window:
    page = int(number) if number and number.isdigit() and 0 < int(number) < MAX_PAGE else 1
    start = (page - 1) * GROUP_PAGE_SIZE
    found = list(rows[start : start + GROUP_PAGE_SIZE + 1])
    return Window(found[:GROUP_PAGE_SIZE], page, len(found) > GROUP_PAGE_SIZE)


# ---------------------------------------------------------------- groups
@login_required
@require_GET
def group_list(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id)
    return render(
        request,
        "contacts/groups.html",
        {"book": book, "groups": groups.book_groups(book=book), "can_write": _can_write(request, book)},
    )


@login_required
@require_GET
def group_detail(request: AuthedRequest, book_id: int) -> HttpResponse:
    """One group's cards: a category (?name=) or an Apple-style group card (?card=, read-only)."""
    book = address_book_for_user(user=request.user, book_id=book_id)
    name = groups.clean_group_name(request.GET.get("name", ""))
    card_id = request.GET.get("card", "")
    group_card: Contact | None = None
    if card_id:
        group_card = Contact.objects.filter(book=book, kind="group", pk=card_id if card_id.isdigit() else 0).first()
        if group_card is None:
            raise Http404
        members = groups.group_card_members(group_card=group_card)
        name = group_card.full_name
    elif name:
        members = groups.group_members(book=book, name=name)
    else:
        return redirect("contacts:groups", book.pk)
    page = _window(members, request.GET.get("page"))
    return render(
        request,
        "contacts/group.html",
        {
            "book": book,
            "name": name,
            "group_card": group_card,
            "page": page,
            "can_write": group_card is None and _can_write(request, book),
        },
    )


@login_required
@require_POST
def group_rename(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    name = request.POST.get("name", "")
    new_name = groups.clean_group_name(request.POST.get("new_name", ""))
    try:
        count = services.group_rename(book=book, name=name, new_name=new_name)
    except vcards.VCardError as error:
        messages.error(request, str(error))
        return redirect(reverse("contacts:group", args=[book.pk]) + "?" + _query(name=name))
    messages.success(request, ngettext("%(n)d contact updated.", "%(n)d contacts updated.", count) % {"n": count})
    return redirect(reverse("contacts:group", args=[book.pk]) + "?" + _query(name=new_name))


@login_required
@require_POST
def group_delete(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    count = services.group_delete(book=book, name=request.POST.get("name", ""))
    messages.success(
        request,
        ngettext("Group removed from %(n)d contact.", "Group removed from %(n)d contacts.", count) % {"n": count},
    )
    return redirect("contacts:groups", book.pk)


@login_required
@require_POST
def group_members_remove(request: AuthedRequest, book_id: int) -> HttpResponse:
    """Takes the chosen cards out of the group (bulk, from the group's page)."""
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    name = request.POST.get("name", "")
    count = services.group_remove(book=book, contact_ids=_ids(request.POST.getlist("contact")), name=name)
    messages.success(request, ngettext("%(n)d contact updated.", "%(n)d contacts updated.", count) % {"n": count})
    return redirect(reverse("contacts:group", args=[book.pk]) + "?" + _query(name=name))


@login_required
@require_POST
def contact_group_change(request: AuthedRequest, contact_id: int) -> HttpResponse:
    """Adds the contact to a group (`add`, new or existing) or removes it from one (`remove`)."""
    contact = contact_for_user(user=request.user, contact_id=contact_id, write=True)
    current = groups.contact_categories(contact)
    added = groups.clean_group_name(request.POST.get("add", ""))
    removed = request.POST.get("remove", "")
    wanted = [c for c in current if c != removed]
    if added and added not in wanted:
        wanted.append(added)
    if wanted != current:
        try:
            services.contact_groups_set(contact=contact, categories=wanted)
        except vcards.VCardError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Groups saved."))
    return redirect("contacts:detail", contact.pk)


def _query(**params: str) -> str:
    return urlencode(params)


# ---------------------------------------------------------------- duplicates and merge
@login_required
@require_GET
def duplicates(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id)
    clusters = merge.duplicate_clusters(book=book)
    return render(
        request,
        "contacts/duplicates.html",
        {"book": book, "clusters": clusters, "can_write": _can_write(request, book), "limit": merge.MAX_CLUSTERS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_merge(request: AuthedRequest, contact_id: int) -> HttpResponse:
    """Merge `contact_id` (kept) with ?other= / POST other: choose, preview, then merge."""
    keep = contact_for_user(user=request.user, contact_id=contact_id, write=True)
    other_id = request.POST.get("other") or request.GET.get("other") or ""
    if not other_id:
        query = request.GET.get("q", "").strip()[:200]
        candidates = merge.duplicates_of(contact=keep)
        found = list(selectors.contact_list(book=keep.book, query=query).exclude(pk=keep.pk)[:20]) if query else []
        return render(
            request,
            "contacts/merge_choose.html",
            {"contact": keep, "candidates": candidates, "found": found, "query": query},
        )
    other = contact_for_user(user=request.user, contact_id=other_id, write=True)
    if other.book_id != keep.book_id or other.pk == keep.pk:
        raise Http404  # merging across books is not offered: each book's owner decides for their own cards
    error = ""
    plan = None
    try:
        plan = merge.merged_card(keep=keep.vcard, other=other.vcard)
    except vcards.VCardError as problem:
        error = str(problem)
    if request.method == "POST" and plan is not None:
        try:
            services.contact_merge(keep=keep, other=other)
        except vcards.VCardError as problem:
            error = str(problem)
        else:
            messages.success(request, _("Contacts merged."))
            return redirect("contacts:detail", keep.pk)
    return render(
        request,
        "contacts/merge_preview.html",
        {"contact": keep, "other": other, "plan": plan, "error": error},
        status=400 if error else 200,
    )


# ---------------------------------------------------------------- import in the background
@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: AuthedRequest, book_id: int) -> HttpResponse:
    book = address_book_for_user(user=request.user, book_id=book_id, write=True)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        error = upload_error(upload)
        if upload is not None and not error:
            job_id = tasks.import_job_start(book=book, owner_id=request.user.pk, chunks=upload.chunks())
            return redirect("contacts:import_job", job_id)
    return render(
        request,
        "contacts/import_background.html",
        {"book": book, "error": error, "max_mib": services.MAX_IMPORT_BYTES // 2**20},
        status=400 if error else 200,
    )


def _job(request: AuthedRequest, job_id: str) -> tasks.ImportJob:
    job = tasks.import_job_get(job_id=job_id, owner_id=request.user.pk)
    if job is None:
        raise Http404
    return job


@login_required
@require_GET
@never_cache
def import_job(request: AuthedRequest, job_id: str) -> HttpResponse:
    job = _job(request, job_id)
    book = AddressBook.objects.filter(pk=job["book"]).first()
    return render(request, "contacts/import_job.html", {"job": job, "job_id": job_id, "book": book})


@login_required
@require_GET
@never_cache
def import_job_status(request: AuthedRequest, job_id: str) -> JsonResponse:
    job = _job(request, job_id)
    return JsonResponse(
        {
            "state": job["state"],
            "done": job["done"],
            "total": job["total"],
            "created": job["created"],
            "updated": job["updated"],
            "errors": [{"card": number, "reason": reason} for number, reason in job["errors"]],
        }
    )
