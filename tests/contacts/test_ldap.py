"""The directory's LDAP feed against a real slapd (tests/ldap_server.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.contacts.ldap import LdapError, ldap_people
from apps.contacts.ldap_feed import directory_ldap_sync
from apps.contacts.tasks import directory_ldap_sync_task
from tests.factories import UserFactory
from tests.ldap_server import DEFAULT_MAP, LdapBranch

User = get_user_model()
pytestmark = pytest.mark.django_db(transaction=True)


def test_sync_creates_users_with_their_fields_and_no_usable_password(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person(
        "ada",
        mail="ada@corp.test",
        givenName="Ada",
        sn="Lovelace",
        displayName="Ada Lovelace",
        telephoneNumber="+33 1 23 45 67 89",
        title="Analyst",
    )
    ldap_branch.add_person("bob", mail="bob@corp.test", sn="Builder")

    report = directory_ldap_sync(config=ldap_branch.config())

    assert (report.created, report.updated, report.deactivated, report.skipped) == (2, 0, 0, [])
    ada = User.objects.get(username="ada")
    assert (ada.email, ada.first_name, ada.last_name, ada.display_name) == (
        "ada@corp.test",
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert (ada.phone, ada.job_title) == ("+33 1 23 45 67 89", "Analyst")
    assert ada.ldap_created
    assert ada.ldap_dn == ldap_branch.person_dn("ada")
    assert not ada.has_usable_password()
    assert ada.is_active
    # A second run with nothing changed writes nothing.
    again = directory_ldap_sync(config=ldap_branch.config())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_sync_updates_changed_and_removed_attributes(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("cyd", mail="cyd@corp.test", title="Intern", telephoneNumber="100")
    directory_ldap_sync(config=ldap_branch.config())

    ldap_branch.change("cyd", title="Engineer", telephoneNumber=None)
    report = directory_ldap_sync(config=ldap_branch.config())

    assert (report.created, report.updated) == (0, 1)
    cyd = User.objects.get(username="cyd")
    assert cyd.job_title == "Engineer"
    assert cyd.phone == ""  # LDAP feeds the phone: gone there, gone here


def test_existing_user_is_matched_by_mail_then_only_unlinked_when_they_leave(ldap_branch: LdapBranch) -> None:
    existing: Any = UserFactory(username="dora.local", email="Dora@Corp.test", job_title="")
    ldap_branch.add_person("dora", mail="dora@corp.test", title="Chief")

    report = directory_ldap_sync(config=ldap_branch.config())

    assert (report.created, report.updated) == (0, 1)
    existing.refresh_from_db()
    assert existing.username == "dora.local"  # never renamed
    assert existing.job_title == "Chief"
    assert existing.ldap_dn == ldap_branch.person_dn("dora")
    assert not existing.ldap_created
    assert User.objects.filter(username="dora").count() == 0

    ldap_branch.remove("dora")
    report = directory_ldap_sync(config=ldap_branch.config())

    existing.refresh_from_db()
    assert report.deactivated == 0
    assert existing.is_active  # LDAP did not create this account: it is not LDAP's to close
    assert existing.ldap_dn == ""  # and no longer fed: the person edits their fields again


def test_existing_user_is_matched_by_username_when_no_mail_matches(ldap_branch: LdapBranch) -> None:
    existing: Any = UserFactory(username="eve", email="eve@elsewhere.test")
    ldap_branch.add_person("eve", mail="eve@corp.test")

    directory_ldap_sync(config=ldap_branch.config())

    existing.refresh_from_db()
    assert existing.email == "eve@corp.test"
    assert User.objects.filter(username__startswith="eve").count() == 1


def test_user_created_by_ldap_is_deactivated_when_gone_and_reactivated_on_return(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("fay", mail="fay@corp.test")
    ldap_branch.add_person("gus", mail="gus@corp.test")
    directory_ldap_sync(config=ldap_branch.config())

    ldap_branch.remove("fay")
    report = directory_ldap_sync(config=ldap_branch.config())

    assert report.deactivated == 1
    fay = User.objects.get(username="fay")
    assert not fay.is_active
    assert fay.ldap_left_at is not None
    assert User.objects.get(username="gus").is_active
    assert directory_ldap_sync(config=ldap_branch.config()).deactivated == 0  # counted once

    ldap_branch.add_person("fay", mail="fay@corp.test")
    directory_ldap_sync(config=ldap_branch.config())
    fay.refresh_from_db()
    assert fay.is_active
    assert fay.ldap_left_at is None


def test_an_admin_deactivation_is_not_undone_by_the_feed(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("hal", mail="hal@corp.test")
    directory_ldap_sync(config=ldap_branch.config())
    User.objects.filter(username="hal").update(is_active=False)

    directory_ldap_sync(config=ldap_branch.config())

    assert not User.objects.get(username="hal").is_active


def test_the_attribute_map_can_be_changed_and_one_attribute_may_feed_two_fields(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("quy", cn="Quy Tran", mobile="+84 90 000", description="Nurse", telephoneNumber="1")
    mapping = {**DEFAULT_MAP, "phone": "mobile", "job_title": "description", "display_name": "cn", "first_name": "cn"}

    directory_ldap_sync(config=ldap_branch.config(attributes=mapping))

    quy = User.objects.get(username="quy")
    assert (quy.phone, quy.job_title) == ("+84 90 000", "Nurse")
    assert (quy.display_name, quy.first_name) == ("Quy Tran", "Quy Tran")


def test_hostile_values_are_cleaned_and_cut(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person(
        "ivy",
        mail="not a mail",
        displayName="Ivy\x07\x1b[31m Evil\u202e\u200b\nName",
        title="T" * 100_000 + "\x00\x01",
        telephoneNumber="+1   555  0100",  # the phone syntax refuses controls: spaces are folded
    )
    ldap_branch.add_person("jo/../../etc", mail="jo@corp.test")

    report = directory_ldap_sync(config=ldap_branch.config())

    assert report.created == 2
    ivy = User.objects.get(username="ivy")
    assert ivy.display_name == "Ivy[31m Evil Name"  # controls and format characters dropped
    assert ivy.job_title == "T" * 150
    assert ivy.phone == "+1 555 0100"
    assert ivy.email == ""  # an invalid mail is not stored
    assert User.objects.filter(username="jo....etc").exists()  # only username characters are kept


def test_two_entries_with_the_same_mail_do_not_merge_into_one_user(ldap_branch: LdapBranch) -> None:
    UserFactory(username="kim.local", email="kim@corp.test")
    ldap_branch.add_person("kim", mail="kim@corp.test")
    ldap_branch.add_person("kim2", mail="kim@corp.test")

    report = directory_ldap_sync(config=ldap_branch.config())

    assert report.updated == 1
    assert len(report.skipped) == 1
    assert "kim" in report.skipped[0]
    assert not User.objects.filter(username__in=["kim", "kim2"]).exists()


def test_wrong_bind_password_is_a_clear_error_and_writes_nothing(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("lea", mail="lea@corp.test")

    with pytest.raises(LdapError, match="refused the bind"):
        directory_ldap_sync(config=ldap_branch.config(bind_password="wrong"))

    assert not User.objects.filter(username="lea").exists()


def test_starttls_checks_the_server_certificate(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("pia", mail="pia@corp.test")

    with pytest.raises(LdapError):  # the server's CA is not among the system's: refused
        directory_ldap_sync(config=ldap_branch.config(starttls=True))
    assert not User.objects.filter(username="pia").exists()

    report = directory_ldap_sync(config=ldap_branch.config(starttls=True, ca_file=ldap_branch.server.ca_file))
    assert report.created == 1


def test_unreachable_server_and_bad_filter_are_clear_errors(ldap_branch: LdapBranch) -> None:
    with pytest.raises(LdapError, match="Cannot reach"):
        ldap_people(ldap_branch.config(url="ldap://127.0.0.1:1", timeout=2))
    with pytest.raises(LdapError, match="not a valid LDAP filter"):
        ldap_people(ldap_branch.config(search_filter="(objectClass=inetOrgPerson"))


def test_missing_base_dn_fails_instead_of_deactivating_everyone(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("max", mail="max@corp.test")
    directory_ldap_sync(config=ldap_branch.config())

    with pytest.raises(LdapError, match="search failed"):
        directory_ldap_sync(config=ldap_branch.config(base_dn=f"ou=gone,{ldap_branch.dn}"))

    assert User.objects.get(username="max").is_active


def test_command_prints_the_counts_and_reports_errors(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("ned", mail="ned@corp.test")
    server = ldap_branch.server
    settings: dict[str, Any] = {
        "RUCHE_LDAP_URL": server.url,
        "RUCHE_LDAP_BIND_DN": server.bind_dn,
        "RUCHE_LDAP_BIND_PASSWORD": server.bind_password,
        "RUCHE_LDAP_BASE_DN": ldap_branch.dn,
    }
    out = StringIO()
    with override_settings(**settings):
        call_command("directory_ldap_sync", stdout=out, stderr=StringIO())
    assert "created 1, updated 0, deactivated 0" in out.getvalue()

    with (
        override_settings(**{**settings, "RUCHE_LDAP_BIND_PASSWORD": "nope"}),
        pytest.raises(CommandError, match="bind"),
    ):
        call_command("directory_ldap_sync", stdout=StringIO(), stderr=StringIO())
    with override_settings(RUCHE_LDAP_URL=""), pytest.raises(CommandError, match="RUCHE_LDAP_URL"):
        call_command("directory_ldap_sync", stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize(("url", "scheduled"), [("ldap://127.0.0.1:389", True), ("", False)])
def test_beat_runs_the_feed_hourly_only_when_ldap_is_set(url: str, scheduled: bool) -> None:
    code = "from groupware.celery import app; print(app.conf.beat_schedule.get('directory-ldap-sync'))"
    env = {**os.environ, "RUCHE_LDAP_URL": url, "RUCHE_LDAP_BASE_DN": "dc=ruche,dc=test"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout

    assert ("'schedule': 3600.0" in out) is scheduled
    assert ("contacts.directory_ldap_sync" in out) is scheduled


def test_the_beat_task_runs_the_feed_and_survives_a_failing_server(ldap_branch: LdapBranch) -> None:
    ldap_branch.add_person("ola", mail="ola@corp.test")
    server = ldap_branch.server
    settings = {
        "RUCHE_LDAP_URL": server.url,
        "RUCHE_LDAP_BIND_DN": server.bind_dn,
        "RUCHE_LDAP_BIND_PASSWORD": server.bind_password,
        "RUCHE_LDAP_BASE_DN": ldap_branch.dn,
    }
    with override_settings(**{**settings, "RUCHE_LDAP_BIND_PASSWORD": "nope"}):
        directory_ldap_sync_task.run()  # logged, not raised: the next hour tries again
    assert not User.objects.filter(username="ola").exists()

    with override_settings(**settings):
        directory_ldap_sync_task.run()
    assert User.objects.filter(username="ola", ldap_created=True).exists()
