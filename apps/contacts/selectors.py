"""Reads for the contacts pages."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from apps.contacts.models import AddressBook, Contact

PAGE_SIZE = 50


def contact_list(*, book: AddressBook, query: str = "") -> QuerySet[Contact]:
    """The book's contacts by sort key; `query` keeps those whose name, mail, phone or organisation holds every word."""
    contacts = Contact.objects.filter(book=book).only("id", "full_name", "email", "organisation", "book_id")
    for word in query.casefold().split()[:8]:
        contacts = contacts.filter(search_text__contains=word)
    return contacts.order_by("sort_key", "pk")


def contact_page(*, book: AddressBook, query: str, number: str | int | None) -> Page[Contact]:
    return Paginator(contact_list(book=book, query=query), PAGE_SIZE).get_page(number)
