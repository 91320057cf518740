"""The status selector against the real database, Redis and (when present) the real mail stack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from apps.core.health import SystemStatus, age_in_words, system_status
from apps.core.heartbeats import heartbeat_get, heartbeat_record

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("no_heartbeats", "no_mail_stack_env")]


def by_key(status: SystemStatus) -> dict[str, Any]:
    return {check.key: check for check in status.checks}


def record_all_alive() -> None:
    for component in ("worker", "beat", "push"):
        heartbeat_record(component=component, info={"host": "test"})


@pytest.mark.django_db
def test_database_and_redis_are_reported_up_with_their_versions() -> None:
    checks = by_key(system_status())

    assert checks["database"].state == "ok"
    assert checks["database"].details["server_version"]
    assert checks["redis"].state == "ok"
    assert checks["redis"].details["server_version"]
    assert checks["redis"].details["used_memory"]


@pytest.mark.django_db
def test_versions_name_ruche_python_and_the_frameworks() -> None:
    versions = system_status().versions

    for name in ("Ruche", "Python", "Django", "Celery", "Channels", "django-allauth", "Redis"):
        assert versions[name], name


@pytest.mark.django_db
def test_without_heartbeats_worker_beat_and_push_are_down_and_the_installation_unhealthy() -> None:
    status = system_status()
    checks = by_key(status)

    for component in ("worker", "beat", "push"):
        assert checks[component].state == "down"
        assert "no heartbeat" in checks[component].summary
    assert not status.healthy
    assert {check.key for check in status.problems} == {"worker", "beat", "push"}


@pytest.mark.django_db
def test_fresh_heartbeats_make_the_installation_healthy() -> None:
    record_all_alive()

    status = system_status()

    assert status.healthy
    for component in ("worker", "beat", "push"):
        assert by_key(status)[component].state == "ok"
        assert "last heartbeat" in by_key(status)[component].summary


@pytest.mark.django_db
def test_an_old_heartbeat_reads_as_stale_in_words_a_human_understands() -> None:
    record_all_alive()
    heartbeat_record(component="worker", at=time.time() - 180)

    worker = by_key(system_status())["worker"]

    assert worker.state == "stale"
    assert "last heartbeat 3 minutes ago" in worker.summary
    assert "expected every 15 s" in worker.summary


@pytest.mark.django_db
def test_a_stale_heartbeat_is_reported_but_does_not_count_as_down() -> None:
    record_all_alive()
    heartbeat_record(component="push", at=time.time() - 120)

    status = system_status()

    assert by_key(status)["push"].state == "stale"
    assert status.healthy


@pytest.mark.django_db
def test_redis_on_a_closed_port_is_down_and_heartbeats_are_unknown(closed_port: int) -> None:
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{closed_port}/0"):
        status = system_status()
    checks = by_key(status)

    assert checks["redis"].state == "down"
    assert "does not answer" in checks["redis"].summary
    for component in ("worker", "beat", "push"):
        assert checks[component].state == "down"
        assert "Redis" in checks[component].summary
    assert checks["database"].state == "ok"
    assert not status.healthy


@pytest.mark.django_db
def test_no_mail_server_configured_is_said_and_is_not_a_problem() -> None:
    record_all_alive()

    status = system_status()

    assert by_key(status)["mail"].state == "unconfigured"
    assert status.healthy


@pytest.mark.django_db
def test_an_unreachable_mail_server_is_down_but_optional(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_all_alive()
    env_file = tmp_path / "mailstack.env"
    env_file.write_text(f"IMAP_HOST=127.0.0.1\nIMAP_PORT={closed_port}\n")
    monkeypatch.setenv("RUCHE_MAIL_STACK_ENV", str(env_file))

    status = system_status()
    imap = by_key(status)[f"mail:imap:127.0.0.1:{closed_port}"]

    assert imap.state == "down"
    assert "connection refused" in imap.summary
    assert not imap.required
    assert status.healthy


@pytest.mark.django_db
def test_an_unreadable_mail_stack_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUCHE_MAIL_STACK_ENV", str(tmp_path / "missing.env"))

    checks = by_key(system_status())

    assert checks["mail:stack-env"].state == "down"
    assert "RUCHE_MAIL_STACK_ENV" in checks["mail:stack-env"].summary


@pytest.mark.django_db
def test_the_mail_defaults_and_the_instance_smtp_server_are_checked(closed_port: int) -> None:
    defaults = {
        "imap_host": "127.0.0.1",
        "imap_port": closed_port,
        "imap_security": "tls",
        "smtp_host": "127.0.0.1",
        "smtp_port": closed_port,
        "smtp_security": "starttls",
        "sieve_port": closed_port,
    }
    with override_settings(
        RUCHE_MAIL_DEFAULTS=defaults, RUCHE_SMTP_HOST="127.0.0.1", EMAIL_HOST="127.0.0.1", EMAIL_PORT=closed_port
    ):
        keys = set(by_key(system_status()))

    for service in ("imap", "sieve", "submission", "smtp"):
        assert f"mail:{service}:127.0.0.1:{closed_port}" in keys


@pytest.mark.mailstack
@pytest.mark.django_db
def test_the_real_mail_stack_is_reachable_with_its_banners(mailstack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUCHE_MAIL_STACK_ENV", str(mailstack.env_file))

    status = system_status()
    mail = [check for check in status.checks if check.key.startswith("mail:")]

    assert {check.key.split(":")[1] for check in mail} == {"imap", "sieve", "smtp", "submission"}
    assert all(check.state == "ok" for check in mail), [(c.key, c.summary) for c in mail]
    assert "Dovecot" in status.versions["Dovecot"]
    assert "Postfix" in status.versions["Postfix"]


def test_ages_are_said_in_seconds_minutes_or_hours() -> None:
    assert age_in_words(1) == "1 second"
    assert age_in_words(42) == "42 seconds"
    assert age_in_words(185) == "3 minutes"
    assert age_in_words(7300) == "2 hours"


def test_a_heartbeat_keeps_only_the_facts_of_its_last_report() -> None:
    heartbeat_record(component="worker", info={"host": "old", "queue_delay": 1})
    heartbeat_record(component="worker", info={"host": "new"})

    beat = heartbeat_get(component="worker")

    assert beat is not None
    assert beat.info == {"host": "new"}
