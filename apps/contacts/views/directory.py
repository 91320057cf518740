"""The directory of colleagues: the list with search as you type, a person's page, the .vcf export."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.contacts import directory
from apps.contacts.ldap import ldap_enabled
from apps.core.types import AuthedRequest


@login_required
@require_GET
@never_cache
def directory_list(request: AuthedRequest) -> HttpResponse:
    query = request.GET.get("q", "")[:200]
    page, people = directory.directory_page(query=query, number=request.GET.get("page"))
    context = {"page": page, "people": people, "query": query, "ldap": ldap_enabled()}
    # The search box's module asks for the results alone while the user types.
    if request.headers.get("X-Ruche-Partial") == "results":
        return render(request, "contacts/_directory_results.html", context)
    return render(request, "contacts/directory.html", context)


@login_required
@require_GET
@never_cache
def directory_detail(request: AuthedRequest, user_id: int) -> HttpResponse:
    person = directory.directory_person(user_id=user_id)
    return render(request, "contacts/directory_person.html", {"person": person})


@login_required
@require_GET
def directory_export(request: AuthedRequest) -> StreamingHttpResponse:
    # Streamed: an instance of thousands of people is never held in memory as one string.
    response = StreamingHttpResponse(directory.directory_vcards(), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="directory.vcf"'
    return response
