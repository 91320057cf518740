"""Address books and contacts.

A contact keeps the vCard text exactly as it was received or last written (`vcard`): that text is
the truth, and every other column is derived from it (apps.contacts.vcards.derive) for lists and
search, so a property Ruche does not show is never lost.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AddressBook(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="address_books")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # The book's segment in its DAV URL (/dav/addressbooks/<username>/<dav_name>/); a client's
    # extended MKCOL chooses it, the browser gets a generated one.
    dav_name = models.CharField(max_length=255)
    # The book every user gets on first visit; exactly one per user.
    personal = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    share_kind: ClassVar[str] = "contacts.addressbook"

    class Meta:
        ordering = ("-personal", "name", "pk")
        constraints = (
            models.UniqueConstraint(fields=("owner", "dav_name"), name="contacts_book_dav_name"),
            models.UniqueConstraint(
                fields=("owner",), condition=models.Q(personal=True), name="contacts_one_personal_book"
            ),
        )

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    book = models.ForeignKey(AddressBook, on_delete=models.CASCADE, related_name="contacts")
    uid = models.CharField(max_length=255)
    # The card's resource name in its book's DAV collection ("<something>.vcf"), chosen by the
    # client that PUT it, else derived from the UID (apps.contacts.services.href_for_uid).
    href = models.CharField(max_length=255)
    vcard = models.TextField()
    full_name = models.CharField(max_length=500)
    sort_key = models.CharField(max_length=500)
    email = models.CharField(max_length=320, blank=True)
    organisation = models.CharField(max_length=500, blank=True)
    # Lower-cased names, nickname, mails, phones and organisation: what search as you type matches.
    search_text = models.TextField(blank=True)
    # The card's CATEGORIES (its groups) as "\n"-framed names ("\nFamily\nWork\n"), so a group is
    # one substring test and the counts one narrow column read (apps.contacts.groups).
    categories = models.TextField(blank=True, default="")
    # "group" for an Apple-style group card (KIND:group / X-ADDRESSBOOKSERVER-KIND:group), else "".
    kind = models.CharField(max_length=20, blank=True, default="")
    # Normalised mails, phones and name, "\n"-framed ("\nm:a@b.c\np:612345678\nn:jeanne martin\n"):
    # what duplicate detection and recipient autocomplete read without parsing every card.
    match_keys = models.TextField(blank=True, default="")
    updated = models.DateTimeField(auto_now=True)
    etag = models.CharField(max_length=64)

    class Meta:
        ordering = ("sort_key", "pk")
        constraints = (
            models.UniqueConstraint(fields=("book", "uid"), name="contacts_uid_per_book"),
            models.UniqueConstraint(fields=("book", "href"), name="contacts_href_per_book"),
        )
        indexes = (
            models.Index(fields=("book", "sort_key", "id"), name="contacts_book_sort"),
            models.Index(fields=("book", "email"), name="contacts_book_email"),
            # Group cards are a handful among thousands: a partial index finds them without
            # trusting the planner's guess on a column that is "" almost everywhere.
            models.Index(fields=("book",), condition=models.Q(kind="group"), name="contacts_group_cards"),
        )

    def __str__(self) -> str:
        return self.full_name
