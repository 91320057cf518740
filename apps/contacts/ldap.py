"""The LDAP adapter of the directory: the only module that speaks LDAP (through ldap3, pure Python).

It binds, reads the people under the base DN with a paged search and hands back plain values
keyed by Ruche field names. It never writes to LDAP. What it returns is untrusted text: the feed
(`ldap_feed.py`) cleans and cuts it before it reaches a user row.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from ldap3 import NONE, Connection, Server, Tls  # type: ignore[import-untyped]  # ldap3 ships no types
from ldap3.core.exceptions import LDAPException, LDAPInvalidFilterError  # type: ignore[import-untyped]

PAGE_SIZE = 500
# A value longer than this is cut before decoding: no field Ruche keeps is anywhere near it, and a
# hostile server must not make us decode megabytes per attribute.
MAX_RAW_BYTES = 4096
# Far above any organisation Ruche serves; a server sending more is broken or hostile, and the
# whole list is held in memory before it is applied.
MAX_ENTRIES = 200_000


class LdapError(Exception):
    """The directory could not be read; the message says why, for the admin."""


@dataclass(frozen=True)
class LdapConfig:
    url: str
    base_dn: str
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    search_filter: str = "(objectClass=inetOrgPerson)"
    starttls: bool = False
    timeout: int = 10
    attributes: dict[str, str] = field(default_factory=dict)  # Ruche field -> LDAP attribute
    ca_file: str = ""  # a private CA for ldaps:// and STARTTLS; empty: the system's CAs

    @classmethod
    def from_settings(cls) -> LdapConfig:
        return cls(
            url=settings.RUCHE_LDAP_URL,
            base_dn=settings.RUCHE_LDAP_BASE_DN,
            bind_dn=settings.RUCHE_LDAP_BIND_DN,
            bind_password=settings.RUCHE_LDAP_BIND_PASSWORD,
            search_filter=settings.RUCHE_LDAP_FILTER,
            starttls=settings.RUCHE_LDAP_STARTTLS,
            timeout=settings.RUCHE_LDAP_TIMEOUT,
            attributes=dict(settings.RUCHE_LDAP_ATTRIBUTES),
            ca_file=settings.RUCHE_LDAP_CA_FILE,
        )


@dataclass(frozen=True)
class LdapPerson:
    dn: str
    values: dict[str, str]  # Ruche field -> first value of its attribute, decoded; absent when the entry has none


def ldap_enabled() -> bool:
    return bool(settings.RUCHE_LDAP_URL)


def _decode(raw: object) -> str:
    if isinstance(raw, bytes):
        return raw[:MAX_RAW_BYTES].decode("utf-8", errors="replace")
    return str(raw)[:MAX_RAW_BYTES]


def _connect(config: LdapConfig) -> Connection:
    try:
        # ldap3 checks no certificate unless told to: require a valid one for the server's name.
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file or None)
        server = Server(config.url, get_info=NONE, connect_timeout=config.timeout, tls=tls)
        conn = Connection(
            server,
            user=config.bind_dn or None,
            password=config.bind_password or None,
            read_only=True,
            receive_timeout=config.timeout,
            raise_exceptions=False,
            auto_referrals=False,  # never follow a referral to a server the admin did not name
        )
        conn.open()
        if config.starttls and not conn.start_tls():
            conn.unbind()
            raise LdapError(_("STARTTLS was refused by %(url)s.") % {"url": config.url})
        if not conn.bind():
            description = conn.result.get("description") if conn.result else ""
            conn.unbind()
            raise LdapError(
                _("The LDAP server refused the bind as %(dn)s (%(reason)s): check the bind DN and password.")
                % {"dn": config.bind_dn or _("anonymous"), "reason": description or _("no reason given")}
            )
        # From here every failed answer raises: a search cut short must never pass for a complete one.
        conn.raise_exceptions = True
    except LDAPException as error:
        raise LdapError(
            _("Cannot reach the LDAP server %(url)s: %(error)s") % {"url": config.url, "error": error}
        ) from error
    return conn


def ldap_people(config: LdapConfig) -> list[LdapPerson]:
    """Every entry under the base DN that the filter selects, read page by page.

    Returns only after the whole search succeeded: a partial answer would make people look as if
    they had left, so any error raises LdapError instead.
    """
    attributes = sorted(set(config.attributes.values()))
    by_attribute: dict[str, list[str]] = {}  # one attribute may feed several fields
    for name, attribute in config.attributes.items():
        by_attribute.setdefault(attribute.lower(), []).append(name)
    conn = _connect(config)
    people: list[LdapPerson] = []
    try:
        entries: Iterator[dict[str, object]] = conn.extend.standard.paged_search(
            search_base=config.base_dn,
            search_filter=config.search_filter,
            attributes=attributes,
            paged_size=PAGE_SIZE,
            generator=True,
        )
        for entry in entries:
            if entry.get("type") != "searchResEntry":
                continue  # referrals: not followed
            raw_attributes = entry.get("raw_attributes")
            if not isinstance(raw_attributes, Mapping):
                continue
            values: dict[str, str] = {}
            for attribute, raw_values in raw_attributes.items():
                for name in by_attribute.get(str(attribute).lower(), []):
                    if raw_values:
                        values[name] = _decode(raw_values[0])
            people.append(LdapPerson(dn=_decode(entry.get("dn", ""))[:512], values=values))
            if len(people) > MAX_ENTRIES:
                raise LdapError(
                    _("The LDAP search returned more than %(n)d entries: narrow RUCHE_LDAP_FILTER.")
                    % {"n": MAX_ENTRIES}
                )
    except LDAPInvalidFilterError as error:
        raise LdapError(_("RUCHE_LDAP_FILTER is not a valid LDAP filter: %(error)s") % {"error": error}) from error
    except LDAPException as error:
        raise LdapError(_("The LDAP search failed: %(error)s") % {"error": error}) from error
    finally:
        conn.unbind()
    return people
