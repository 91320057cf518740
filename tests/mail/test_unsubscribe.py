"""One-click unsubscribe (RFC 8058) against a tiny local HTTP server, and by mail through the real Postfix."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.mail import unsubscribe
from tests.mail.mailboxes import account_for, deliver, email_message, indexed, sync

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.requests.append(  # type: ignore[attr-defined]
            {"path": self.path, "body": self.rfile.read(length), "headers": dict(self.headers)}
        )
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "http://10.0.0.1/internal")
        else:
            self.send_response(500 if self.path.startswith("/broken") else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def list_server() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: Any, path: str) -> str:
    return f"http://127.0.0.1:{server.server_port}{path}"


@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    return account_for(owner, mail_user, mailstack)


def list_message(account: Any, mailstack: Any, mail_user: Any, subject: str, **headers: str) -> Any:
    deliver(mailstack, mail_user, email_message(subject, sender="News <news@lists.example.org>", **headers))
    sync(account)
    return indexed(account, subject)


def test_the_methods_come_from_the_header() -> None:
    from apps.mail.models import Message

    message = Message(
        list_unsubscribe="<mailto:leave@x.org?subject=bye>, <https://x.org/u?id=1>", list_unsubscribe_post=True
    )
    methods = unsubscribe.unsubscribe_methods(message)
    assert (methods.one_click_url, methods.mailto, methods.web_url) == (
        "https://x.org/u?id=1",
        "mailto:leave@x.org?subject=bye",
        "",
    )
    message.list_unsubscribe_post = False
    assert unsubscribe.unsubscribe_methods(message).web_url == "https://x.org/u?id=1"
    message.list_unsubscribe = "<javascript:alert(1)>"
    assert not unsubscribe.unsubscribe_methods(message).any


def test_one_click_posts_the_rfc8058_body_without_cookies(list_server: Any) -> None:
    status = unsubscribe.post_one_click(url_of(list_server, "/u?id=42"), allow_addresses={LOOPBACK})
    assert status == 200
    [request] = list_server.requests
    assert request["path"] == "/u?id=42"
    assert request["body"] == b"List-Unsubscribe=One-Click"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Cookie" not in request["headers"]
    assert "Authorization" not in request["headers"]


def test_one_click_refuses_private_addresses(list_server: Any) -> None:
    with pytest.raises(unsubscribe.UnsubscribeError, match="private or reserved"):
        unsubscribe.post_one_click(url_of(list_server, "/u"))
    assert list_server.requests == []
    with pytest.raises(unsubscribe.UnsubscribeError, match="private or reserved"):
        unsubscribe.post_one_click("http://[::ffff:127.0.0.1]/u")
    with pytest.raises(unsubscribe.UnsubscribeError, match="not a web address"):
        unsubscribe.post_one_click("file:///etc/passwd")


def test_a_redirect_is_never_followed(list_server: Any) -> None:
    assert unsubscribe.post_one_click(url_of(list_server, "/redirect"), allow_addresses={LOOPBACK}) == 302
    assert [r["path"] for r in list_server.requests] == ["/redirect"]


def test_a_server_error_is_reported_in_plain_words(list_server: Any) -> None:
    with pytest.raises(unsubscribe.UnsubscribeError, match="HTTP 500"):
        unsubscribe.post_one_click(url_of(list_server, "/broken"), allow_addresses={LOOPBACK})


def test_hostile_mailto_values_cannot_inject_headers() -> None:
    request = unsubscribe.parse_mailto("mailto:leave@x.org?subject=bye%0d%0aBcc:%20victim@y.org&body=please")
    assert request.subject == "bye Bcc: victim@y.org"
    with pytest.raises(unsubscribe.UnsubscribeError):
        unsubscribe.parse_mailto("mailto:a@x.org%0d%0aBcc:b@y.org")
    with pytest.raises(unsubscribe.UnsubscribeError):
        unsubscribe.parse_mailto("mailto:a@x.org,b@y.org")


def test_the_reader_offers_one_click_and_the_button_posts(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, list_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(unsubscribe, "ALLOW_ADDRESSES", frozenset({LOOPBACK}))
    message = list_message(
        account,
        mailstack,
        mail_user,
        "Weekly",
        List_Unsubscribe=f"<{url_of(list_server, '/one')}>",
        List_Unsubscribe_Post="List-Unsubscribe=One-Click",
    )
    pane = owner_client.get(reverse("mail:message_pane", args=[message.pk]))
    assert b"data-unsubscribe-notice" in pane.content
    assert b'value="one-click"' in pane.content

    response = owner_client.post(
        reverse("mail:message_unsubscribe", args=[message.pk]), {"method": "one-click"}, follow=True
    )
    assert b"Unsubscribe request sent" in response.content
    assert [r["body"] for r in list_server.requests] == [b"List-Unsubscribe=One-Click"]


def test_unsubscribe_by_mail_goes_through_the_accounts_smtp(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any, make_mail_user: Any
) -> None:
    list_box = make_mail_user()
    message = list_message(
        account,
        mailstack,
        mail_user,
        "Digest",
        List_Unsubscribe=f"<mailto:{list_box.address}?subject=unsubscribe%20me>",
    )
    response = owner_client.post(
        reverse("mail:message_unsubscribe", args=[message.pk]), {"method": "mail"}, follow=True
    )
    assert b"Unsubscribe message sent" in response.content
    received = mailstack.wait_for_message(list_box, ["SUBJECT", "unsubscribe me"])
    assert received["From"].addresses[0].addr_spec == account.email_address


def test_a_web_only_link_is_opened_by_the_person_after_a_confirmation(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any
) -> None:
    message = list_message(account, mailstack, mail_user, "Promo", List_Unsubscribe="<https://shop.example.org/leave>")
    pane = owner_client.get(reverse("mail:message_pane", args=[message.pk])).content
    assert b"<details" in pane
    assert b'href="https://shop.example.org/leave"' in pane
    assert b"shop.example.org in a new tab" in pane


def test_the_outsider_cannot_unsubscribe_someone_else(
    client: Client, outsider: Any, account: Any, mailstack: Any, mail_user: Any, list_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(unsubscribe, "ALLOW_ADDRESSES", frozenset({LOOPBACK}))
    message = list_message(
        account,
        mailstack,
        mail_user,
        "Other",
        List_Unsubscribe=f"<{url_of(list_server, '/x')}>",
        List_Unsubscribe_Post="List-Unsubscribe=One-Click",
    )
    client.force_login(outsider)
    assert (
        client.post(reverse("mail:message_unsubscribe", args=[message.pk]), {"method": "one-click"}).status_code == 404
    )
    assert list_server.requests == []
