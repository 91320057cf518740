"""`manage.py mail_render` as a user runs it: a subprocess, one JSON object per file and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from apps.mail.management.commands.mail_render import RENDER_CID_BASE, render_record
from apps.mail.mime import parse_message
from apps.mail.sanitize import RemotePolicy, cid_url_for

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
KEYS = ["file", "subject", "from", "to", "cc", "attachments", "html", "text", "errors"]


def run(*files: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "mail_render", *files],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_mail_render_prints_one_json_object_per_file_with_the_agreed_shape():
    files = sorted(str(path) for path in CORPUS.glob("*.eml"))
    result = run(*files, str(CORPUS / "does-not-exist.eml"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["file"] for r in records] == [*files, str(CORPUS / "does-not-exist.eml")]
    for record in records:
        assert list(record) == KEYS
        assert all(isinstance(record[key], str) for key in ("file", "subject", "html", "text"))
        for key in ("from", "to", "cc"):
            assert all(set(address) == {"name", "address"} for address in record[key])
        assert all(
            set(a) == {"filename", "content_type", "size"} and isinstance(a["size"], int) for a in record["attachments"]
        )
        assert all(isinstance(error, str) for error in record["errors"])
    assert records[-1]["errors"] == ["The file could not be read: No such file or directory"]


def test_mail_render_output_is_the_production_rendering():
    path = CORPUS / "related-cid.eml"
    (record,) = [json.loads(line) for line in run(str(path)).stdout.splitlines()]
    rendered = parse_message(path.read_bytes(), cid_url=cid_url_for(RENDER_CID_BASE), remote=RemotePolicy.BLOCK)
    assert record == render_record(str(path), rendered)
    assert 'src="cid/logo%40example.com"' in record["html"]
    assert "cdn.example.com" not in record["html"]


def test_mail_render_fails_only_when_no_file_could_be_read():
    result = run("/nonexistent/a.eml", "/nonexistent/b.eml")
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 2
    assert "No file could be read." in result.stderr
