"""The mailbox screen: folders in the rail, the message list, the reading pane beside it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.core.types import AuthedRequest
from apps.mail import search, selectors, services
from apps.mail.access import folder_for_user, message_for_user
from apps.mail.models import Folder, Message
from apps.mail.views import reading

PAGE_SIZE = 50


def _list_query(request: AuthedRequest, *, threads_default: bool) -> selectors.ListQuery:
    params = request.GET
    sort = params.get("sort", "date")
    quick = params.get("filter", "all")
    view = params.get("view", "")
    return selectors.ListQuery(
        sort=sort if sort in selectors.SORTS else "date",  # type: ignore[arg-type]
        descending=params.get("dir", "desc") != "asc",
        quick_filter=quick if quick in selectors.FILTERS else "all",  # type: ignore[arg-type]
        threads={"threads": True, "messages": False}.get(view, threads_default),
        cursor=params.get("cursor", "")[:100],
        limit=PAGE_SIZE,
    )


@login_required
def mailbox_home(request: AuthedRequest) -> HttpResponse:
    """/mail/: the unified inbox when there are several accounts, else the inbox."""
    inboxes = list(selectors.inbox_folders_for_user(user=request.user))
    if len(inboxes) > 1:
        return redirect("mail:unified")
    if inboxes:
        # Shown here rather than redirected to: one round trip less between "Sign in" and the rows.
        return folder_view(request, inboxes[0].pk)
    first = Folder.objects.filter(account__owner_id=request.user.pk).order_by("pk").first()
    if first is not None:
        return redirect("mail:folder", folder_id=first.pk)
    return render(request, "mail/empty.html", {"mailboxes": selectors.mailboxes_for_user(user=request.user)})


@login_required
def folder_view(request: AuthedRequest, folder_id: int, message_id: int | None = None) -> HttpResponse:
    folder = folder_for_user(user=request.user, folder_id=folder_id)
    return _mailbox(
        request,
        folders=[folder],
        current=folder,
        base_url=reverse("mail:folder", args=[folder.pk]),
        title=selectors.folder_label(folder),
        message_id=message_id,
    )


@login_required
def unified_view(request: AuthedRequest, message_id: int | None = None) -> HttpResponse:
    folders = list(selectors.inbox_folders_for_user(user=request.user))
    if not folders:
        return redirect("mail:home")
    return _mailbox(
        request,
        folders=folders,
        current=None,
        base_url=reverse("mail:unified"),
        title=_("All inboxes"),
        message_id=message_id,
    )


def _mailbox(
    request: AuthedRequest,
    *,
    folders: list[Folder],
    current: Folder | None,
    base_url: str,
    title: str,
    message_id: int | None,
) -> HttpResponse:
    partial = request.GET.get("partial") == "list"
    preferences = selectors.mail_preferences_for_user(user=request.user)
    query = _list_query(request, threads_default=preferences.conversation_view)
    page = selectors.message_page(folders=folders, query=query)
    opened: Message | None = None
    if message_id is not None:
        opened = message_for_user(user=request.user, message_id=message_id)
        if opened.folder not in folders:
            raise Http404
    keep: dict[str, str] = {k: str(v) for k, v in request.GET.items() if k in ("sort", "dir", "filter", "view")}
    context: dict[str, Any] = {
        "title": title,
        "current_folder": current,
        "unified": current is None,
        "folder_ids": ",".join(str(f.pk) for f in folders),
        # The list alone (the page's script asking for rows) shows no folder rail.
        "mailboxes": [] if partial else selectors.mailboxes_for_user(user=request.user),
        "page": page,
        "query": query,
        "base_url": base_url,
        "query_string": urlencode(keep),  # sort, order, filter (and a one-off view)
        "next_url": f"{base_url}?{urlencode({**keep, 'cursor': page.next_cursor})}" if page.next_cursor else "",
        "opened": opened,
        "sorts": [("date", _("Date")), ("from", _("Sender")), ("subject", _("Subject")), ("size", _("Size"))],
        "filters": [
            ("all", _("All")),
            ("unread", _("Unread")),
            ("flagged", _("Flagged")),
            ("attachments", _("With attachments")),
        ],
    }
    if opened is not None:
        context.update(reading.reader_context(request, opened))
    template = "mail/_list.html" if partial else "mail/mailbox.html"
    return render(request, template, context)


@login_required
def search_view(request: AuthedRequest, message_id: int | None = None) -> HttpResponse:
    """Search across every folder of the user's accounts (narrowed by `in:` and the other operators)."""
    text = request.GET.get("q", "").strip()
    folders = Folder.objects.filter(account__owner_id=request.user.pk)
    query = search.parse_query(text)
    # Typing (partial lists) reads the index only; a submitted search also asks the server about
    # what is not indexed yet, within a time budget.
    as_you_type = request.GET.get("partial") == "list"
    results = (
        search.SearchResults(messages=[])
        if query.empty
        else search.search_results(
            folders=folders, query=query, limit=PAGE_SIZE if as_you_type else SEARCH_LIMIT, ask_server=not as_you_type
        )
    )
    found = results.messages
    coverage = [] if query.empty or as_you_type else selectors.search_coverage_for_user(user=request.user)
    rows = [selectors.ListRow(message=m, thread_count=1, thread_unread=0) for m in found]
    opened = message_for_user(user=request.user, message_id=message_id) if message_id is not None else None
    base_url = reverse("mail:search")
    context: dict[str, Any] = {
        "title": _("Search: %(query)s") % {"query": text} if text else _("Search"),
        "current_folder": None,
        "searching": True,
        "search_text": text,
        "search_problems": query.problems,
        "search_incomplete": results.incomplete,
        "search_bodies_indexed": sum(c.bodies_indexed for c in coverage),
        "search_bodies_total": sum(c.total for c in coverage),
        "folder_ids": "",
        # Results as you type (the list alone) show no folder rail.
        "mailboxes": [] if as_you_type else selectors.mailboxes_for_user(user=request.user),
        "page": selectors.ListPage(rows=rows, next_cursor=""),
        "query": selectors.ListQuery(threads=False),
        "base_url": base_url,
        "query_string": urlencode({"q": text}),
        "next_url": "",
        "opened": opened,
    }
    if opened is not None:
        context.update(reading.reader_context(request, opened))
    template = "mail/_list.html" if request.GET.get("partial") == "list" else "mail/mailbox.html"
    return render(request, template, context)


SEARCH_LIMIT = 100


@require_POST
@login_required
def preferences_update(request: AuthedRequest) -> HttpResponse:
    """The list's "View" switch (conversations or messages) and "mark read on open", kept per user."""
    view = request.POST.get("view")
    mark = request.POST.get("mark_read_on_open")
    services.mail_preferences_update(
        user=request.user,
        conversation_view={"threads": True, "messages": False}.get(view or ""),
        mark_read_on_open={"1": True, "0": False}.get(mark or ""),
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("mail:home")
    return redirect(target)
