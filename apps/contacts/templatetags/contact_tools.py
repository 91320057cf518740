"""Template tags for the includes the groups work fills (list tools, a contact's groups).

The list page's view belongs to the books work; its tools include computes what it shows here,
from the `book` it is given, through the same selectors the tools pages use.
"""

from __future__ import annotations

from typing import Any

from django import template

from apps.contacts import groups
from apps.contacts.models import AddressBook, Contact

register = template.Library()


@register.simple_tag
def book_groups(book: AddressBook) -> list[groups.Group]:
    return groups.book_groups(book=book)


@register.simple_tag
def contact_groups(contact: Contact) -> dict[str, Any]:
    """The contact's categories and the Apple-style group cards that list it."""
    return {"categories": groups.contact_categories(contact), "cards": groups.contact_group_cards(contact=contact)}
