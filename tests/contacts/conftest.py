"""Fixtures shared by the contacts tests: the real LDAP server of the directory's feed
(tests/ldap_server.py), and the cleanup of the broker's queues for tests that run a Celery worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from apps.core.redis import get_redis
from tests.ldap_server import ldap_branch, ldap_server

__all__ = ["ldap_branch", "ldap_server"]


@pytest.fixture
def _forget_broker_keys() -> Iterator[None]:
    """The broker's queues live under this test worker's Redis prefix: drop them afterwards."""
    yield
    r = get_redis()
    keys = list(r.scan_iter(f"{settings.RUCHE_REDIS_PREFIX}:celery:*", count=500))
    if keys:
        r.delete(*keys)
