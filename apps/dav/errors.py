"""The one exception DAV handlers raise to answer with an error status (and an RFC precondition)."""

from __future__ import annotations

from apps.dav.xml import Name


class DavError(Exception):
    def __init__(
        self,
        status: int,
        condition: Name | None = None,
        message: str = "",
        *,
        extra: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or str(status))
        self.status = status
        self.condition = condition
        self.message = message
        self.extra = extra  # raw XML inside the precondition element (e.g. the conflicting href)
        self.headers = headers or {}
