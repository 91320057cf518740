"""`manage.py status`: a table or JSON, and an exit code scripts and monitors can use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.core.heartbeats import heartbeat_record

pytestmark = [pytest.mark.redis, pytest.mark.django_db, pytest.mark.usefixtures("no_heartbeats", "no_mail_stack_env")]

BASE_DIR = Path(__file__).resolve().parents[2]


def run_status(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("status", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_status_exits_non_zero_and_names_what_is_down_when_no_process_reported() -> None:
    code, out = run_status()

    assert code == 1
    assert "Celery worker" in out
    assert "DOWN" in out
    assert "Down: Celery worker, Celery beat, Push process" in out


def test_status_exits_zero_when_every_required_component_runs() -> None:
    for component in ("worker", "beat", "push"):
        heartbeat_record(component=component)

    code, out = run_status()

    assert code == 0
    assert "All required components are running." in out
    assert "Ruche" in out


def test_status_json_gives_every_check_and_the_versions() -> None:
    for component in ("worker", "beat", "push"):
        heartbeat_record(component=component)

    code, out = run_status("--json")
    data = json.loads(out)

    assert code == 0
    assert data["healthy"] is True
    states = {check["key"]: check["state"] for check in data["checks"]}
    assert states["database"] == "ok"
    assert states["redis"] == "ok"
    assert states["worker"] == states["beat"] == states["push"] == "ok"
    assert states["mail"] == "unconfigured"
    assert data["versions"]["Ruche"]


def test_status_as_a_process_exits_one_when_redis_is_down(tmp_path: Path, closed_port: int) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "groupware.settings",
        "RUCHE_ENV": "test",
        "RUCHE_DATA_DIR": str(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{closed_port}/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "status", "--json"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    states = {check["key"]: check["state"] for check in json.loads(result.stdout)["checks"]}
    assert states["redis"] == "down"
    assert states["database"] == "ok"
