"""Structured logs: one JSON object per line, easy to ship to Loki/ELK/journald."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else was passed through `extra=` and is kept.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# A secret must never reach a log, even when someone passes it in `extra=` by mistake.
_SECRET_NAME = re.compile(
    r"passw(or)?d|passphrase|^pass$|secret|token|credential|authorization|api_?key|cookie", re.IGNORECASE
)
REDACTED = "[redacted]"


def _redact(name: str, value: Any, depth: int = 0) -> Any:
    if _SECRET_NAME.search(name):
        return REDACTED
    if isinstance(value, dict):
        if depth >= 4:  # deep (or circular) structures are not worth walking: keep their text
            return repr(value)
        return {key: _redact(str(key), item, depth + 1) for key, item in value.items()}
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "process": record.processName,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and key not in payload:
                payload[key] = _redact(key, value)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        try:
            return json.dumps(payload, default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            # Circular structures or keys JSON cannot hold: fall back to each value's text.
            return json.dumps({key: _plain(value) for key, value in payload.items()}, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
