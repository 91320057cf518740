"""Test settings: the production settings module with a few test-only overrides."""

from __future__ import annotations

import os
import tempfile

# Each pytest-xdist worker gets its own Redis key prefix (channel groups, presence,
# cache) and its own data directory, so workers never see each other.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["RUCHE_ENV"] = "test"
os.environ["RUCHE_REDIS_PREFIX"] = f"ruchetest:{_worker}:{os.getpid()}"
os.environ.setdefault("RUCHE_DATA_DIR", tempfile.mkdtemp(prefix=f"ruche-test-{_worker}-"))
# Playwright's sync API runs an event loop in the test thread; the ORM calls the
# tests make there are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from groupware.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; real hashing is not under test
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # tests that need SMTP switch to the mail stack
ACCOUNT_RATE_LIMITS = {**ACCOUNT_RATE_LIMITS}  # noqa: F405  (tests may tighten them)
