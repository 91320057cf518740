"""The LDAP feed of the directory: creates and updates users from the entries `ldap.py` reads.

Rules (README, "Directory"):
* an entry is matched to a user by the entry it fed before (`User.ldap_dn`), else by mail
  (when one user only has it), else by username = uid;
* a new user gets an unusable password: they sign in through the IMAP login backend or a reset;
* the fields of the attribute map are LDAP's: an attribute the entry no longer has empties its
  field (except the mail, which stays), and the profile shows them read-only;
* nobody is ever deleted; a user that left LDAP is deactivated only if the feed created them,
  and reactivated if they come back; the others just stop being fed.
Every value is untrusted: control characters are dropped, whitespace folded, lengths cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Field
from django.utils import timezone

from apps.accounts.models import User as UserModel
from apps.contacts.ldap import LdapConfig, LdapPerson, ldap_people
from apps.core.redis import get_redis, key

User = get_user_model()

# The user fields the feed may write (the username only when it creates a user).
FED_FIELDS = ("email", "first_name", "last_name", "display_name", "phone", "job_title")
_USERNAME_CHARS = re.compile(r"[^\w.@+-]")
_SPACES = re.compile(r"\s+")


@dataclass
class SyncReport:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per entry not applied, with the reason


def clean_value(value: str, max_length: int) -> str:
    """Printable text on one line, at most max_length characters."""
    kept = "".join(ch for ch in value if not unicodedata.category(ch).startswith("C") or ch in "\t\n\r ")
    return _SPACES.sub(" ", kept).strip()[:max_length]


def _max_length(name: str) -> int:
    model_field = UserModel._meta.get_field(name)
    assert isinstance(model_field, Field)
    assert model_field.max_length is not None
    return model_field.max_length


def clean_username(value: str) -> str:
    return _USERNAME_CHARS.sub("", clean_value(value, 1000))[: _max_length("username")]


def _fed_values(person: LdapPerson) -> dict[str, str]:
    """The cleaned values of the fed fields; a bad mail counts as absent (the old one stays)."""
    values = {name: clean_value(person.values.get(name, ""), _max_length(name)) for name in FED_FIELDS}
    try:
        validate_email(values["email"])
    except ValidationError:
        values["email"] = ""
    return values


def directory_ldap_sync(*, config: LdapConfig | None = None) -> SyncReport:
    """Reads the whole directory, then applies it. Raises LdapError (nothing written) if LDAP fails.

    One sync at a time: beat and a command started by hand must not create the same user twice.
    """
    config = config or LdapConfig.from_settings()
    with get_redis().lock(key("directory", "ldap_sync"), timeout=600, blocking_timeout=600):
        people = ldap_people(config)  # before any write: a failed read changes nothing
        return directory_apply_people(people=people, mapped=set(config.attributes))


@transaction.atomic
def directory_apply_people(*, people: Iterable[LdapPerson], mapped: set[str]) -> SyncReport:
    """Applies a complete list of LDAP entries to the users. `mapped` = the fields the map feeds."""
    feed = _Feed(mapped=mapped)
    for person in people:
        feed.apply(person)
    feed.close_departed()
    return feed.report


class _Feed:
    """One run of the feed: every user loaded once (locked), indexed by LDAP entry, mail and username."""

    def __init__(self, *, mapped: set[str]) -> None:
        self.mapped = mapped
        self.report = SyncReport()
        self.users: list[UserModel] = list(User.objects.select_for_update().order_by("pk"))
        self.by_dn = {u.ldap_dn.lower(): u for u in self.users if u.ldap_dn}
        self.by_username = {u.username: u for u in self.users}
        self.by_email: dict[str, list[UserModel]] = {}
        for u in self.users:
            if u.email:
                self.by_email.setdefault(u.email.lower(), []).append(u)
        self.seen: set[int] = set()

    def _match(self, dn: str, email: str, username: str) -> UserModel | None:
        user = self.by_dn.get(dn.lower())
        if user is None and email:
            candidates = self.by_email.get(email.lower(), [])
            user = candidates[0] if len(candidates) == 1 else None
        if user is None and username:
            user = self.by_username.get(username)
        return user

    def apply(self, person: LdapPerson) -> None:
        dn = clean_value(person.dn, _max_length("ldap_dn"))
        values = _fed_values(person)
        username = clean_username(person.values.get("username", ""))
        user = self._match(dn, values["email"], username)
        if user is None:
            self._create(dn, username, values)
        elif user.pk in self.seen:
            self.report.skipped.append(f"{dn}: matches the same user as another entry ({user.username})")
        else:
            self.seen.add(user.pk)
            self._update(user, dn, values)

    def _create(self, dn: str, username: str, values: dict[str, str]) -> None:
        if not username:
            self.report.skipped.append(f"{dn}: no usable uid to name a new user")
            return
        if values["email"] and self.by_email.get(values["email"].lower()):
            self.report.skipped.append(f"{dn}: mail {values['email']} is shared by several users")
            return
        user = User(username=username, ldap_created=True, ldap_dn=dn)
        for name in FED_FIELDS:
            if name in self.mapped:
                setattr(user, name, values[name])
        user.set_unusable_password()
        user.save()
        self.by_username[username] = user
        if user.email:
            self.by_email.setdefault(user.email.lower(), []).append(user)
        self.seen.add(user.pk)
        self.report.created += 1

    def _update(self, user: UserModel, dn: str, values: dict[str, str]) -> None:
        changed: list[str] = []
        for name in FED_FIELDS:
            if name not in self.mapped or (name == "email" and not values["email"]):
                continue
            if name == "email" and any(u.pk != user.pk for u in self.by_email.get(values["email"].lower(), [])):
                self.report.skipped.append(f"{dn}: mail {values['email']} belongs to another user, not changed")
                continue
            if getattr(user, name) != values[name]:
                setattr(user, name, values[name])
                changed.append(name)
        if user.ldap_dn != dn:
            user.ldap_dn = dn
            changed.append("ldap_dn")
        if user.ldap_left_at is not None:
            # Back in LDAP: reopen what the feed closed (an admin's deactivation has no ldap_left_at).
            user.ldap_left_at = None
            user.is_active = True
            changed += ["ldap_left_at", "is_active"]
        if changed:
            user.save(update_fields=changed)
            self.report.updated += 1
        else:
            self.report.unchanged += 1

    def close_departed(self) -> None:
        """Users fed before and absent now: no longer fed; deactivated if the feed created them."""
        now = timezone.now()
        for user in self.users:
            if not user.ldap_dn or user.pk in self.seen:
                continue
            fields = ["ldap_dn"]
            user.ldap_dn = ""
            if user.ldap_created and user.is_active:
                user.is_active = False
                user.ldap_left_at = now
                fields += ["is_active", "ldap_left_at"]
                self.report.deactivated += 1
            user.save(update_fields=fields)
