"""DAV test helpers: each persona signs in with its own app password through HTTP Basic."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from apps.accounts.app_passwords import app_password_create

CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{family};{given};;;\r\n"
    "EMAIL;TYPE=work:{mail}\r\nX-RUCHE-TEST;X-ODD=1:kept {uid}\r\nEND:VCARD\r\n"
)


def card(uid: str, name: str = "Ana Lima", mail: str = "ana@example.test") -> str:
    given, _sep, family = name.partition(" ")
    return CARD.format(uid=uid, name=name, family=family, given=given, mail=mail)


PROPFIND_ALL = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>'


def propfind_body(*props: str, extra_ns: str = "") -> str:
    inner = "".join(f"<{p}/>" for p in props)
    return (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav" '
        f'xmlns:cs="http://calendarserver.org/ns/" {extra_ns}><d:prop>{inner}</d:prop></d:propfind>'
    )


class Dav:
    """Sends DAV requests as one user (an app password) through Django's test client."""

    def __init__(self, user: Any, secret: str) -> None:
        self.user = user
        self.secret = secret
        self.client = Client()
        self.auth = "Basic " + base64.b64encode(f"{user.username}:{secret}".encode()).decode()

    def __call__(
        self, method: str, path: str, body: str | bytes = "", content_type: str = "application/xml", **headers: str
    ) -> Any:
        return self.client.generic(
            method, path, data=body, content_type=content_type, HTTP_AUTHORIZATION=self.auth, headers=headers
        )

    def put(self, path: str, text: str, **headers: str) -> Any:
        return self(method="PUT", path=path, body=text, content_type="text/vcard; charset=utf-8", **headers)


def book_url(user: Any, name: str = "contacts") -> str:
    return f"/dav/addressbooks/{user.username}/{name}/"


@pytest.fixture
def owner_dav(owner: Any) -> Dav:
    return Dav(owner, app_password_create(user=owner, name="phone").secret)


@pytest.fixture
def colleague_dav(colleague: Any) -> Dav:
    return Dav(colleague, app_password_create(user=colleague, name="phone").secret)


@pytest.fixture
def outsider_dav(outsider: Any) -> Dav:
    return Dav(outsider, app_password_create(user=outsider, name="phone").secret)
