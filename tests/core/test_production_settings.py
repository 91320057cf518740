"""RUCHE_ENV=production: missing or invalid settings stop the start naming the variable;
a complete production environment passes `manage.py check --deploy` with no warning.

Each case runs manage.py as its own process, with an environment built from scratch.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]
SECRET_KEY = "k" * 20 + "-production-secret-key-for-tests-only-0123456789"


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "groupware.settings",
        "RUCHE_DATA_DIR": str(tmp_path / "data"),
        "RUCHE_ENV": "production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "ruche.example.org",
        "RUCHE_CREDENTIALS_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "RUCHE_SMTP_HOST": "smtp.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'ruche.sqlite3'}",
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_complete_production_environment_passes_check_deploy_without_warnings(
    production_env: dict[str, str],
) -> None:
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_production_turns_on_https_only_cookies_and_hsts(production_env: dict[str, str]) -> None:
    result = manage(
        production_env,
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0, s.DEBUG)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["True", "True", "True", "True", "False"]


@pytest.mark.parametrize(
    "variable", ["SECRET_KEY", "ALLOWED_HOSTS", "RUCHE_CREDENTIALS_KEYS", "REDIS_URL", "RUCHE_SMTP_HOST"]
)
def test_production_refuses_to_start_without_a_required_variable(production_env: dict[str, str], variable: str) -> None:
    del production_env[variable]

    result = manage(production_env, "check", "--deploy")

    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr  # a message for a person, not a stack


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RUCHE_SMTP_PORT", "abc"),
        ("DATABASE_URL", "nonsense://"),
        ("DATABASE_URL", "postgres://"),
        ("RUCHE_DEBUG", "maybe"),
        ("RUCHE_DEBUG", "true"),
        ("RUCHE_CREDENTIALS_KEYS", "not-a-fernet-key"),
        ("SECRET_KEY", "too-short"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
        ("RUCHE_SMTP_SECURITY", "ssl"),
        ("RUCHE_ENV", "prod"),
        ("RUCHE_HSTS_SECONDS", "-1"),
        ("RUCHE_LOG_FORMAT", "xml"),
    ],
)
def test_production_refuses_to_start_with_an_invalid_value_and_names_the_variable(
    production_env: dict[str, str], variable: str, value: str
) -> None:
    production_env[variable] = value

    result = manage(production_env, "check", "--deploy")

    assert result.returncode != 0
    assert variable in result.stderr


def test_a_bad_credentials_key_is_not_repeated_in_the_error(production_env: dict[str, str]) -> None:
    production_env["RUCHE_CREDENTIALS_KEYS"] = f"{production_env['RUCHE_CREDENTIALS_KEYS']},my-secret-but-wrong-key"

    result = manage(production_env, "check")

    assert result.returncode != 0
    assert "key number 2" in result.stderr
    assert "my-secret-but-wrong-key" not in result.stderr


def test_a_database_url_password_is_not_repeated_in_the_error(production_env: dict[str, str]) -> None:
    production_env["DATABASE_URL"] = "postgres://ruche:hunter2-db-password@db.example.org:5432"

    result = manage(production_env, "check")

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "hunter2-db-password" not in result.stderr
