"""Structured logs (groupware.logs.JsonFormatter, RUCHE_LOG_FORMAT=json)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from groupware.logs import REDACTED, JsonFormatter


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.json_log")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_object_on_one_line(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log

    logger.info("first line\nsecond line of the same message")
    logger.warning("another %s", "record")

    records = lines(stream)
    assert len(records) == 2
    assert records[0]["msg"] == "first line\nsecond line of the same message"
    assert records[0]["level"] == "info"
    assert records[0]["logger"] == "tests.json_log"
    assert records[1]["msg"] == "another record"
    assert records[1]["ts"].endswith("+00:00")


def test_extra_fields_are_kept(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log

    logger.info("users changed", extra={"event": "push.users_changed", "added": [3, 4], "connected": 2})

    record = lines(stream)[0]
    assert record["event"] == "push.users_changed"
    assert record["added"] == [3, 4]
    assert record["connected"] == 2


def test_exceptions_are_included(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log

    try:
        raise ValueError("the IMAP server went away")
    except ValueError:
        logger.exception("sync failed")

    record = lines(stream)[0]
    assert record["level"] == "error"
    assert "Traceback" in record["exc"]
    assert "ValueError: the IMAP server went away" in record["exc"]


def test_extras_json_cannot_hold_do_not_break_the_log(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log
    circular: dict[str, Any] = {}
    circular["self"] = circular

    logger.info("odd values", extra={"obj": object(), "ids": {1, 2}, "circular": circular})
    logger.info("odd keys", extra={"by_pair": {(1, 2): "x"}})

    records = lines(stream)
    assert [r["msg"] for r in records] == ["odd values", "odd keys"]
    assert "object object" in records[0]["obj"]


def test_secrets_passed_as_extras_are_redacted(json_log: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_log

    logger.info(
        "account saved",
        extra={"password": "hunter2", "account": {"user": "alice", "imap_password": "hunter3"}, "smtp_token": "t"},
    )

    output = stream.getvalue()
    assert "hunter2" not in output
    assert "hunter3" not in output
    record = lines(stream)[0]
    assert record["password"] == REDACTED
    assert record["account"] == {"user": "alice", "imap_password": REDACTED}
    assert record["smtp_token"] == REDACTED
