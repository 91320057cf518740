"""Filters and the out-of-office reply: the compiler, the rules kept in the script, delivery through
Postfix → LMTP → Pigeonhole, and the pages (owner and outsider)."""

from __future__ import annotations

import smtplib
import time
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.mail import filters
from apps.mail.filters import Action, Condition, FilterSet, Rule, Vacation
from apps.mail.sieve import SieveConnection, SieveSettings
from tests.mail.mailboxes import account_for, deliver, email_message, inbox_of, indexed, sync

ALL = frozenset(
    [
        "fileinto",
        "reject",
        "envelope",
        "vacation",
        "imap4flags",
        "copy",
        "regex",
        "date",
        "relational",
        "mailbox",
        "body",
        "variables",
    ]
)
HOSTILE = 'a "quoted" \\back\\slash\r\nnew line * and ? é 漢字'


def smtp_deliver(mailstack: Any, *, sender: str, to: str, subject: str, **headers: str) -> None:
    """A message through Postfix (port 25 style), so it reaches Dovecot's LMTP and its Sieve."""
    message = email_message(subject, sender=sender, to=to, **headers)
    with smtplib.SMTP(mailstack.host, mailstack.ports.smtp, timeout=30) as client:
        client.send_message(message, from_addr=sender, to_addrs=[to])


def wait_in_folder(mailstack: Any, user: Any, subject: str, folder: str) -> Any:
    """The message once Sieve has filed it (the folder itself only exists after the first delivery)."""
    deadline = time.monotonic() + 30
    while True:
        with mailstack.imap(user) as imap:
            if imap.folder_exists(folder):
                break
        assert time.monotonic() < deadline, f"{folder} was never created"
        time.sleep(0.1)
    return mailstack.wait_for_message(user, ["SUBJECT", subject], folder=folder)


def sieve_of(mailstack: Any, user: Any) -> SieveConnection:
    return SieveConnection(
        SieveSettings(
            host=mailstack.host,
            port=mailstack.ports.sieve,
            security="none",
            username=user.address,
            password=user.password,
        )
    )


def hostile_rule() -> Rule:
    return Rule(
        name=HOSTILE,
        match_all=False,
        conditions=[
            Condition(field="subject", match="contains", value=HOSTILE),
            Condition(field="header", header="X-Mailer", match="matches", value="*Out?ook*", negate=True),
            Condition(field="size", match="over", value="100K"),
        ],
        actions=[
            Action(kind="read"),
            Action(kind="flag"),
            Action(kind="move", argument='Lists/Ünï "q" \\ x'),
            Action(kind="forward", argument="bob@example.test", keep_copy=True),
        ],
        stop=True,
    )


# ---------------------------------------------------------------- compiling
def test_user_text_only_ever_becomes_escaped_quoted_strings() -> None:
    script = filters.filters_compile(FilterSet(rules=[hostile_rule()]), extensions=ALL)
    code = [line for line in script.split("\r\n") if line and not line.startswith("#")]
    assert 'header :contains "subject" "a \\"quoted\\" \\\\back\\\\slash new line * and ? é 漢字"' in script
    assert 'fileinto :create "Lists/Ünï \\"q\\" \\\\ x";' in script
    assert 'not header :matches "X-Mailer" "*Out?ook*"' in script
    assert "size :over 100K" in script
    assert 'redirect :copy "bob@example.test";' in script
    # The rule's name went into a comment on one line, never into code.
    assert not any("quoted" in line and "header" not in line for line in code)
    assert script.count("\r\n") == script.count("\n")  # CRLF only


def test_the_rules_are_read_back_from_the_script() -> None:
    original = FilterSet(
        rules=[hostile_rule(), Rule(name="off", enabled=False, actions=[Action(kind="discard")])],
        vacation=Vacation(enabled=True, subject="Away", text="Back soon", start=date(2026, 1, 2), days=3),
    )
    script = filters.filters_compile(original, extensions=ALL)
    parsed, custom = filters.filters_parse(script, extensions=ALL)
    assert parsed == original
    assert custom is False
    code = [line for line in script.split("\r\n") if not line.startswith("#")]
    assert "discard;" not in "\n".join(code)  # a disabled rule is kept in the JSON but not compiled


def test_a_script_edited_by_hand_has_custom_parts() -> None:
    script = filters.filters_compile(FilterSet(rules=[hostile_rule()]), extensions=ALL)
    assert filters.filters_parse(script + "discard;\r\n", extensions=ALL)[1] is True
    assert filters.filters_parse('require "fileinto";\r\nfileinto "X";\r\n', extensions=ALL)[1] is True
    assert filters.filters_parse("", extensions=ALL) == (FilterSet(), False)
    broken = "# ruche-rules: {not json\r\nkeep;\r\n"
    assert filters.filters_parse(broken, extensions=ALL)[1] is True


@pytest.mark.parametrize(
    ("rule", "extensions", "words"),
    [
        (
            Rule(conditions=[Condition(match="regex", value="x")], actions=[Action(kind="flag")]),
            ALL - {"regex"},
            "regular",
        ),
        (Rule(actions=[Action(kind="reject", argument="no")]), ALL - {"reject"}, "reject"),
        (
            Rule(conditions=[Condition(field="header", header="Bad: name", value="x")], actions=[Action(kind="flag")]),
            ALL,
            "header",
        ),
        (
            Rule(conditions=[Condition(field="size", match="over", value="lots")], actions=[Action(kind="flag")]),
            ALL,
            "size",
        ),
        (Rule(actions=[Action(kind="forward", argument="a@b.c>\r\nBcc: x@y.z")]), ALL, "address"),
        (Rule(actions=[Action(kind="move", argument="")]), ALL, "folder"),
        (Rule(name="empty"), ALL, "no action"),
    ],
)
def test_rules_the_server_cannot_run_are_refused_in_plain_words(
    rule: Rule, extensions: frozenset[str], words: str
) -> None:
    with pytest.raises(filters.FilterError, match=words):
        filters.filters_compile(FilterSet(rules=[rule]), extensions=extensions)


def test_the_hostile_rule_compiles_on_the_real_server(mailstack: Any, mail_user: Any) -> None:
    with sieve_of(mailstack, mail_user) as sieve:
        script = filters.filters_compile(
            FilterSet(rules=[hostile_rule()], vacation=Vacation(enabled=True, text='"hi"\n\\', start=date(2026, 1, 1))),
            extensions=sieve.extensions,
        )
        sieve.check_script(script)


# ---------------------------------------------------------------- the server is the truth
def test_saved_rules_file_a_message_delivered_through_postfix(owner: Any, mailstack: Any, make_mail_user: Any) -> None:
    user, sender = make_mail_user(), make_mail_user()
    account = account_for(owner, user, mailstack)
    rule = Rule(
        name="Newsletters",
        conditions=[Condition(field="from", match="contains", value=sender.address)],
        actions=[Action(kind="move", argument="Lists/News"), Action(kind="read")],
    )
    filters.filters_rule_save(account=account, rule=rule, index=None)

    smtp_deliver(mailstack, sender=sender.address, to=user.address, subject="Weekly news")
    smtp_deliver(mailstack, sender=make_mail_user().address, to=user.address, subject="Personal")

    filed = wait_in_folder(mailstack, user, "Weekly news", "Lists/News")
    assert filed["Subject"] == "Weekly news"
    mailstack.wait_for_message(user, ["SUBJECT", "Personal"])
    with mailstack.imap(user) as imap:
        imap.select_folder("Lists/News", readonly=True)
        assert imap.search(["SEEN"])  # marked read on delivery
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["SUBJECT", "Weekly news"]) == []
    # Another device (a fresh load) sees the same rule.
    state = filters.filters_load(account=account)
    assert state.filters.rules == [rule]
    assert state.active
    assert not state.custom


def test_the_vacation_reply_reaches_the_sender(owner: Any, mailstack: Any, make_mail_user: Any) -> None:
    user, sender = make_mail_user(), make_mail_user()
    account = account_for(owner, user, mailstack)
    today = timezone.localdate()
    filters.filters_vacation_save(
        account=account,
        vacation=Vacation(
            enabled=True,
            subject="Absent — back Monday",
            text="I am away.\nBack on Monday.",
            start=today - timedelta(days=1),
            end=today + timedelta(days=1),
            days=1,
            addresses=[user.address],
        ),
    )
    smtp_deliver(mailstack, sender=sender.address, to=user.address, subject="Are you there?", Message_ID="<q1@test>")

    reply = mailstack.wait_for_message(sender, ["HEADER", "Auto-Submitted", "auto-replied"])
    assert reply["Subject"] == "Absent — back Monday"
    assert reply["In-Reply-To"] == "<q1@test>"
    assert "Back on Monday." in reply.get_content()


def test_a_vacation_outside_its_dates_stays_silent(owner: Any, mailstack: Any, make_mail_user: Any) -> None:
    user, sender = make_mail_user(), make_mail_user()
    account = account_for(owner, user, mailstack)
    future = timezone.localdate() + timedelta(days=10)
    filters.filters_vacation_save(
        account=account,
        vacation=Vacation(enabled=True, text="Away later", start=future, end=future, addresses=[user.address]),
    )
    smtp_deliver(mailstack, sender=sender.address, to=user.address, subject="Now")
    smtp_deliver(mailstack, sender=user.address, to=sender.address, subject="Marker")  # arrives after any reply
    mailstack.wait_for_message(sender, ["SUBJECT", "Marker"])
    with mailstack.imap(sender) as imap:
        imap.select_folder("INBOX", readonly=True)
        assert imap.search(["HEADER", "Auto-Submitted", "auto-replied"]) == []


def test_a_custom_script_is_never_overwritten_by_the_rules_editor(owner: Any, mailstack: Any, mail_user: Any) -> None:
    account = account_for(owner, mail_user, mailstack)
    custom = 'require ["fileinto"];\r\nif address :is "from" "boss@example.test" { fileinto "Boss"; }\r\n'
    with sieve_of(mailstack, mail_user) as sieve:
        sieve.put_script("roundcube", custom)
        sieve.set_active("roundcube")
    state = filters.filters_load(account=account)
    assert state.custom
    assert state.script_name == "roundcube"

    with pytest.raises(filters.FiltersReadOnlyError):
        filters.filters_rule_save(account=account, rule=Rule(actions=[Action(kind="flag")]), index=None)
    with sieve_of(mailstack, mail_user) as sieve:
        assert sieve.get_script("roundcube") == custom

    filters.filters_save(account=account, filters=FilterSet(), replace_custom=True)
    with sieve_of(mailstack, mail_user) as sieve:
        assert sieve.active_script() == filters.SCRIPT_NAME
        assert sieve.get_script(filters.BACKUP_NAME) == custom


# ---------------------------------------------------------------- pages
@pytest.fixture
def account(owner: Any, mail_user: Any, mailstack: Any) -> Any:
    return account_for(owner, mail_user, mailstack)


def rule_post(**extra: str) -> dict[str, str]:
    data = {
        "name": "From Sam",
        "enabled": "on",
        "match_all": "1",
        "c-TOTAL_FORMS": "2",
        "c-INITIAL_FORMS": "0",
        "c-0-field": "from",
        "c-0-match": "contains",
        "c-0-value": "sam@example.org",
        "c-1-field": "subject",
        "c-1-match": "contains",
        "c-1-value": "",
        "a-TOTAL_FORMS": "2",
        "a-INITIAL_FORMS": "0",
        "a-0-kind": "move",
        "a-0-argument": "Sam",
        "a-1-kind": "",
        "a-1-argument": "",
    }
    data.update(extra)
    return data


def test_the_owner_adds_edits_and_deletes_a_rule_through_the_pages(owner_client: Client, account: Any) -> None:
    page = owner_client.get(reverse("mail:filters", args=[account.pk]))
    assert page.status_code == 200
    assert b"No filter yet" in page.content

    response = owner_client.post(reverse("mail:filter_rule", args=[account.pk]), rule_post())
    assert response.status_code == 302
    assert filters.filters_load(account=account).filters.rules[0].actions == [Action(kind="move", argument="Sam")]
    assert b"From Sam" in owner_client.get(reverse("mail:filters", args=[account.pk])).content

    edit = owner_client.get(reverse("mail:filter_rule", args=[account.pk]) + "?index=0")
    assert b'value="sam@example.org"' in edit.content
    owner_client.post(reverse("mail:filter_rule", args=[account.pk]) + "?index=0", rule_post(name="Renamed"))
    assert [r.name for r in filters.filters_load(account=account).filters.rules] == ["Renamed"]

    owner_client.post(reverse("mail:filter_rule_delete", args=[account.pk, 0]))
    assert filters.filters_load(account=account).filters.rules == []


def test_an_invalid_rule_is_explained_and_nothing_is_saved(owner_client: Client, account: Any) -> None:
    response = owner_client.post(
        reverse("mail:filter_rule", args=[account.pk]),
        rule_post(**{"a-0-kind": "forward", "a-0-argument": "x\r\nBcc: y"}),
    )
    assert response.status_code == 400
    assert b"forward to a valid email address" in response.content
    assert filters.filters_load(account=account).script == ""


def test_a_raw_script_error_shows_the_servers_words(owner_client: Client, account: Any) -> None:
    response = owner_client.post(reverse("mail:filters_script", args=[account.pk]), {"script": "keep;\nwhatever;\n"})
    assert response.status_code == 400
    assert b"whatever" in response.content
    ok = owner_client.post(reverse("mail:filters_script", args=[account.pk]), {"script": "keep;\n"})
    assert ok.status_code == 302
    assert b"custom parts" in owner_client.get(reverse("mail:filters", args=[account.pk])).content


def test_vacation_form_turns_the_reply_on(owner_client: Client, account: Any) -> None:
    response = owner_client.post(
        reverse("mail:filters_vacation", args=[account.pk]),
        {
            "vacation-enabled": "on",
            "vacation-subject": "Away",
            "vacation-text": "Back soon",
            "vacation-days": "2",
            "vacation-start": "",
            "vacation-end": "",
            "vacation-addresses": account.email_address,
        },
    )
    assert response.status_code == 302
    vacation = filters.filters_load(account=account).filters.vacation
    assert (vacation.enabled, vacation.subject, vacation.days) == (True, "Away", 2)


def test_create_a_filter_from_a_message_prefills_the_sender(
    owner_client: Client, account: Any, mailstack: Any, mail_user: Any
) -> None:
    deliver(mailstack, mail_user, email_message("Promo", sender="Shop <shop@example.org>"))
    sync(account)
    message = indexed(account, "Promo")
    response = owner_client.get(reverse("mail:message_filter", args=[message.pk]), follow=True)
    assert b'value="shop@example.org"' in response.content
    assert inbox_of(account)  # the account's folders feed the folder suggestions
    assert b"<datalist" in response.content


def test_the_outsider_cannot_see_or_change_filters(
    client: Client, outsider: Any, account: Any, mailstack: Any, mail_user: Any
) -> None:
    deliver(mailstack, mail_user, email_message("Private"))
    sync(account)
    message = indexed(account, "Private")
    client.force_login(outsider)
    pk = account.pk
    assert client.get(reverse("mail:filters", args=[pk])).status_code == 404
    assert client.get(reverse("mail:filter_rule", args=[pk])).status_code == 404
    assert client.post(reverse("mail:filter_rule", args=[pk]), rule_post()).status_code == 404
    assert client.post(reverse("mail:filter_rule_delete", args=[pk, 0])).status_code == 404
    assert client.post(reverse("mail:filter_rule_move", args=[pk, 0])).status_code == 404
    assert client.post(reverse("mail:filters_vacation", args=[pk]), {}).status_code == 404
    assert client.get(reverse("mail:filters_script", args=[pk])).status_code == 404
    assert client.post(reverse("mail:filters_script", args=[pk]), {"script": "discard;"}).status_code == 404
    assert client.post(reverse("mail:filters_replace", args=[pk])).status_code == 404
    assert client.get(reverse("mail:message_filter", args=[message.pk])).status_code == 404
    assert filters.filters_load(account=account).script == ""
