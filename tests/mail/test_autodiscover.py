"""Autodiscovery: SRV records, autoconfig over a real local HTTPS server, usual names, defaults."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from apps.mail.autodiscover import (
    AUTOCONFIG,
    DEFAULTS,
    GUESS,
    NOTHING,
    SRV,
    Endpoint,
    FetchError,
    HttpsFetcher,
    SrvRecord,
    autodiscover,
)
from tests.mail.tls_server import Answer, Certificate, https_server, make_certificate

ADDRESS = "olivia@example.org"


class FakeResolver:
    """A pure-unit seam: SRV answers from a dict, and the names asked for."""

    def __init__(self, records: dict[str, list[SrvRecord]] | None = None) -> None:
        self.records = records or {}
        self.asked: list[str] = []

    def srv(self, name: str, *, timeout: float) -> list[SrvRecord]:
        self.asked.append(name)
        return self.records.get(name, [])


class NoFetcher:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def get(self, url: str, *, timeout: float) -> bytes:
        self.urls.append(url)
        raise FetchError("offline")


def no_server(host: str, port: int, timeout: float) -> bool:
    return False


def offline(**overrides):
    """Every network seam answers "nothing", except those given."""
    seams = {"resolver": FakeResolver(), "fetcher": NoFetcher(), "prober": no_server}
    return {**seams, **overrides}


AUTOCONFIG_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname><port>995</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>143</port><socketType>plain</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>mx.example.org</hostname><port>993</port><socketType>SSL</socketType>
      <username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.org</hostname><port>465</port><socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username><authentication>password-cleartext</authentication>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<clientConfig version="1.1"><emailProvider id="x">
  <incomingServer type="imap"><hostname>imap.example.org&lol4;</hostname><port>993</port>
  <socketType>SSL</socketType></incomingServer>
</emailProvider></clientConfig>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [ <!ENTITY host SYSTEM "file:///etc/hostname"> ]>
<clientConfig version="1.1"><emailProvider id="x">
  <incomingServer type="imap"><hostname>&host;</hostname><port>993</port>
  <socketType>SSL</socketType></incomingServer>
</emailProvider></clientConfig>
"""


@pytest.fixture
def certificate(tmp_path) -> Certificate:
    return make_certificate(tmp_path, ["autoconfig.example.org", "example.org"])


def fetcher_for(certificate: Certificate, port: int, **options) -> HttpsFetcher:
    """The real HTTPS fetcher, dialling the local server for both autoconfig host names."""
    return HttpsFetcher(
        ssl_context=certificate.client_context(),
        connect_to={
            "autoconfig.example.org:443": ("127.0.0.1", port),
            "example.org:443": ("127.0.0.1", port),
        },
        **options,
    )


# ---------------------------------------------------------------- SRV
def test_srv_records_name_the_servers_implicit_tls_first() -> None:
    resolver = FakeResolver(
        {
            "_imap._tcp.example.org": [SrvRecord(0, 1, 143, "imap.example.org")],
            "_imaps._tcp.example.org": [
                SrvRecord(10, 1, 993, "backup.example.org"),
                SrvRecord(5, 1, 993, "imap.example.org"),
            ],
            "_submission._tcp.example.org": [SrvRecord(0, 1, 587, "smtp.example.org")],
            "_sieve._tcp.example.org": [SrvRecord(0, 1, 4190, "imap.example.org")],
        }
    )

    found = autodiscover(ADDRESS, **offline(resolver=resolver))

    assert found.source == SRV
    assert found.imap == Endpoint("imap.example.org", 993, "tls")
    assert found.smtp == Endpoint("smtp.example.org", 587, "starttls")
    assert found.sieve_port == 4190
    assert found.username == ADDRESS
    assert "_submissions._tcp.example.org" in resolver.asked


def test_a_srv_record_with_target_dot_means_no_service() -> None:
    resolver = FakeResolver(
        {
            "_imaps._tcp.example.org": [SrvRecord(0, 0, 0, "")],
            "_imap._tcp.example.org": [SrvRecord(0, 1, 143, "mail.example.org")],
        }
    )

    found = autodiscover(ADDRESS, **offline(resolver=resolver))

    assert found.imap == Endpoint("mail.example.org", 143, "starttls")
    assert found.smtp is None


# ---------------------------------------------------------------- autoconfig over HTTPS
def test_autoconfig_is_read_from_the_providers_https_server(certificate) -> None:
    routes = {"autoconfig.example.org/mail/config-v1.1.xml": Answer(body=AUTOCONFIG_XML)}
    with https_server(certificate, routes) as (port, seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == AUTOCONFIG
    # The encrypted IMAP server wins over the plain one listed first; POP is ignored.
    assert found.imap == Endpoint("mx.example.org", 993, "tls")
    assert found.smtp == Endpoint("smtp.example.org", 465, "tls")
    assert found.username == "olivia"
    assert found.smtp_username == ADDRESS
    assert seen == ["autoconfig.example.org/mail/config-v1.1.xml?emailaddress=olivia@example.org"]


def test_autoconfig_falls_back_to_the_well_known_address(certificate) -> None:
    routes = {"example.org/.well-known/autoconfig/mail/config-v1.1.xml": Answer(body=AUTOCONFIG_XML)}
    with https_server(certificate, routes) as (port, seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == AUTOCONFIG
    assert len(seen) == 2


def test_autoconfig_placeholders_in_host_names_are_filled_in(certificate) -> None:
    xml = AUTOCONFIG_XML.replace(b"mx.example.org</hostname><port>993", b"imaps.%EMAILDOMAIN%</hostname><port>993")
    routes = {"autoconfig.example.org/mail/config-v1.1.xml": Answer(body=xml)}
    with https_server(certificate, routes) as (port, _seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.imap == Endpoint("imaps.example.org", 993, "tls")


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_autoconfig_xml_is_refused(certificate, hostile) -> None:
    routes = {"autoconfig.example.org/mail/config-v1.1.xml": Answer(body=hostile)}
    with https_server(certificate, routes) as (port, _seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == NOTHING
    assert found.imap is None
    assert any("refused" in note for note in found.notes)


def test_an_oversized_autoconfig_answer_is_not_read(certificate) -> None:
    padding = b"<!-- " + b"x" * 200_000 + b" -->"
    routes = {"autoconfig.example.org/mail/config-v1.1.xml": Answer(body=AUTOCONFIG_XML + padding)}
    with https_server(certificate, routes) as (port, _seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == NOTHING


def test_a_redirect_to_plain_http_is_not_followed(certificate) -> None:
    routes = {
        "autoconfig.example.org/mail/config-v1.1.xml": Answer(
            301, headers=(("Location", "http://autoconfig.example.org/config.xml"),)
        ),
    }
    with https_server(certificate, routes) as (port, seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == NOTHING
    assert not any("config.xml" in s and "config-v1.1" not in s for s in seen)


def test_an_https_redirect_is_followed(certificate) -> None:
    routes = {
        "autoconfig.example.org/mail/config-v1.1.xml": Answer(
            302, headers=(("Location", "https://example.org/provider/config.xml"),)
        ),
        "example.org/provider/config.xml": Answer(body=AUTOCONFIG_XML),
    }
    with https_server(certificate, routes) as (port, _seen):
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher_for(certificate, port)))

    assert found.source == AUTOCONFIG


def test_autoconfig_from_a_server_with_an_untrusted_certificate_is_ignored(certificate) -> None:
    routes = {"autoconfig.example.org/mail/config-v1.1.xml": Answer(body=AUTOCONFIG_XML)}
    with https_server(certificate, routes) as (port, seen):
        fetcher = HttpsFetcher(connect_to={"autoconfig.example.org:443": ("127.0.0.1", port)})
        found = autodiscover(ADDRESS, **offline(fetcher=fetcher))

    assert found.source == NOTHING
    assert seen == []


# ---------------------------------------------------------------- usual host names
@pytest.fixture
def listening_ports() -> Iterator[dict[tuple[str, int], int]]:
    """Real local listeners standing in for mail.example.org:143 and smtp.example.org:587."""
    with ExitStack() as stack:
        mapping = {}
        for name in (("mail.example.org", 143), ("smtp.example.org", 587)):
            sock = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
            mapping[name] = sock.getsockname()[1]
        yield mapping


def test_usual_host_names_are_probed_when_nothing_is_published(listening_ports) -> None:
    def prober(host: str, port: int, timeout: float) -> bool:
        local = listening_ports.get((host, port))
        if local is None:
            return False
        with socket.create_connection(("127.0.0.1", local), timeout=timeout):
            return True

    found = autodiscover(ADDRESS, **offline(prober=prober))

    assert found.source == GUESS
    assert found.imap == Endpoint("mail.example.org", 143, "starttls")
    assert found.smtp == Endpoint("smtp.example.org", 587, "starttls")


def test_nothing_found_says_what_was_tried() -> None:
    found = autodiscover(ADDRESS, **offline())

    assert found.source == NOTHING
    assert not found.found
    assert len(found.notes) == 3


# ---------------------------------------------------------------- the organisation's defaults
@pytest.fixture
def organisation(settings):
    settings.RUCHE_MAIL_DOMAINS = ["example.org"]
    settings.RUCHE_MAIL_DEFAULTS = {
        **settings.RUCHE_MAIL_DEFAULTS,
        "imap_host": "mail.internal.example.org",
        "imap_port": 993,
        "imap_security": "tls",
        "smtp_host": "",
        "smtp_port": 587,
        "smtp_security": "starttls",
        "sieve_port": 4190,
    }


def test_the_organisations_domain_gets_the_instance_defaults_without_any_lookup(organisation) -> None:
    resolver, fetcher = FakeResolver(), NoFetcher()

    found = autodiscover("Olivia@Example.org", resolver=resolver, fetcher=fetcher, prober=no_server)

    assert found.source == DEFAULTS
    assert found.imap == Endpoint("mail.internal.example.org", 993, "tls")
    assert found.smtp == Endpoint("mail.internal.example.org", 587, "starttls")
    assert found.sieve_port == 4190
    assert resolver.asked == []
    assert fetcher.urls == []


def test_other_domains_do_not_get_the_instance_defaults(organisation) -> None:
    found = autodiscover("someone@elsewhere.example", **offline())

    assert found.source == NOTHING


def test_a_non_address_is_not_looked_up() -> None:
    resolver = FakeResolver()

    found = autodiscover("not an address", **offline(resolver=resolver))

    assert found.source == NOTHING
    assert resolver.asked == []
