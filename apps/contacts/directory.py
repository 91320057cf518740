"""Reads of the directory: the instance's active users as colleagues see them (read-only).

Only what a colleague may see of anyone: name, mail, phone, job title, avatar and presence.
Every signed-in user sees the whole directory, as they see colleagues on the home page; nothing
of a person's contacts, mail or account settings comes through here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.core.paginator import Page, Paginator
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Concat, Lower, NullIf, Replace, Trim
from django.http import Http404
from django.urls import reverse

from apps.accounts.models import User as UserModel
from apps.chat.presence import Status, presence_for_users
from apps.contacts import vcards

User = get_user_model()

PAGE_SIZE = 50
MAX_QUERY_WORDS = 6
FIELDS = ("id", "username", "email", "first_name", "last_name", "display_name", "phone", "job_title", "avatar")
# Characters that need a quoted display name in an address (RFC 5322 "specials").
_SPECIALS = frozenset(',;:"<>@()[]\\.')
_UID_LINE = re.compile(r"^UID:[^\r\n]*", re.MULTILINE)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    initials: str
    email: str
    phone: str
    job_title: str
    has_avatar: bool
    avatar_version: str
    status: Status
    last_seen: datetime | None

    @property
    def compose_url(self) -> str:
        """The composer with this person as recipient, `Name <address>` quoted as RFC 5322 asks."""
        if not self.email:
            return ""
        name = self.name
        if any(c in name for c in _SPECIALS):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return reverse("mail:compose") + "?" + urlencode({"to": f"{name} <{self.email}>"})

    @property
    def tel_url(self) -> str:
        # tel: takes the digits and a leading +; spaces and dots are only for people.
        digits = "".join(c for c in self.phone if c.isdigit() or c in "+*#")
        return f"tel:{digits}" if digits else ""


def _people() -> QuerySet[UserModel]:
    full_name = Trim(Concat(F("first_name"), Value(" "), F("last_name"), output_field=CharField()))
    return (
        User.objects.filter(is_active=True)
        .only(*FIELDS)
        .annotate(
            sort_name=Lower(Coalesce(NullIf(F("display_name"), Value("")), NullIf(full_name, Value("")), F("username")))
        )
        .order_by("sort_name", "pk")
    )


def directory_people(*, query: str = "") -> QuerySet[UserModel]:
    """Active users by name; `query` keeps those whose name, username, mail, phone or title holds every word."""
    people = _people()
    # Control characters cannot match anything and PostgreSQL refuses NUL in a query.
    words = "".join(c if c.isprintable() else " " for c in query).split()[:MAX_QUERY_WORDS]
    if words:
        # "0405" finds "01 02 03 04 05": phones are compared without their separators too.
        bare_phone: F | Replace = F("phone")
        for separator in (" ", ".", "-", "(", ")"):
            bare_phone = Replace(bare_phone, Value(separator), Value(""))
        people = people.annotate(bare_phone=bare_phone)
    for word in words:
        match = (
            Q(display_name__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
            | Q(job_title__icontains=word)
        )
        digits = "".join(c for c in word if c.isdigit() or c == "+")
        if digits and all(c.isdigit() or c in "+.-()" for c in word):  # only a word that looks like a phone
            match |= Q(bare_phone__contains=digits)
        people = people.filter(match)
    return people


def _as_people(users: list[UserModel]) -> list[Person]:
    states = presence_for_users([u.pk for u in users]) if users else {}
    return [
        Person(
            id=u.pk,
            name=u.shown_name,
            initials=u.initials,
            email=u.email,
            phone=u.phone,
            job_title=u.job_title,
            has_avatar=bool(u.avatar),
            avatar_version=u.avatar.name or "",
            status=states[u.pk]["status"],
            last_seen=(datetime.fromtimestamp(ls, tz=UTC) if (ls := states[u.pk]["last_seen"]) is not None else None),
        )
        for u in users
    ]


def directory_page(*, query: str, number: str | int | None) -> tuple[Page[UserModel], list[Person]]:
    """One page of the directory and its people with their presence (one query + one Redis round trip)."""
    page = Paginator(directory_people(query=query), PAGE_SIZE).get_page(number)
    return page, _as_people(list(page.object_list))


def directory_person(*, user_id: int) -> Person:
    """One active person of the directory; Http404 for an unknown or inactive one."""
    user = _people().filter(pk=user_id).first()
    if user is None:
        raise Http404
    return _as_people([user])[0]


def directory_vcards() -> Iterator[str]:
    """The directory as vCard 4.0 cards, with a UID stable per user so a re-import replaces them."""
    for user in directory_people().iterator(chunk_size=500):
        fields = vcards.CardFields(
            full_name=user.shown_name,
            given=user.first_name,
            family=user.last_name,
            title=user.job_title,
            emails=[vcards.Typed(user.email, ["work"])] if user.email else [],
            phones=[vcards.Typed(user.phone, ["work"])] if user.phone else [],
        )
        try:
            text = vcards.new_card(fields)
        except vcards.VCardError:
            continue  # a value vobject cannot write: that person is left out, the export goes on
        uid = uuid.uuid5(uuid.NAMESPACE_URL, f"ruche:directory:user:{user.pk}")
        yield _UID_LINE.sub(f"UID:urn:uuid:{uid}", text, count=1)
