"""The web process borrows PostgreSQL connections from a pool; other processes do not.

Each case starts its own Python process, as the web server and a worker would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys
if sys.argv[1] == "web":
    import groupware.asgi  # what uvicorn imports
else:
    import django
    django.setup()
from django.db import connection
pids = []
for _ in range(8):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids.append(cursor.fetchone()[0])
    connection.close()  # what Django does at the end of each request
print(json.dumps({"pooled": connection.pool is not None, "pids": pids}))
"""


def probe(kind: str) -> dict[str, Any]:
    settings_dict = connection.settings_dict
    url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST'] or '127.0.0.1'}"
        f":{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RUCHE_DB_POOL", "DJANGO_SETTINGS_MODULE")}
    env.update({"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "groupware.settings"})
    result = subprocess.run(
        [sys.executable, "-c", PROBE, kind],
        check=False,
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.django_db
def test_web_process_reuses_pooled_connections_and_workers_open_their_own() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the pool is for PostgreSQL (CI runs the suite on it)")
    web = probe("web")
    assert web["pooled"] is True
    # Closed connections went back to the pool: one at a time never needs more than the pool's
    # minimum (2, filled in the background) plus the one opened while it filled.
    assert len(set(web["pids"])) <= 3
    other = probe("worker")
    assert other["pooled"] is False
    assert len(set(other["pids"])) == 8
