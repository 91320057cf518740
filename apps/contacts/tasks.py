"""Background import of .vcf files, with progress a page can poll.

The upload is saved under RUCHE_DATA_DIR/imports with a random name, a job record is put in the
cache (Redis) and the task is enqueued once the request commits. The task imports the file in
batches (apps.contacts.services.book_import_cards), writes its progress into the job record after
each batch and deletes the file at the end, whatever happened. Only the job's owner can read it.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, TypedDict

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import Http404

from apps.contacts import services
from apps.contacts.access import address_book_for_user
from apps.contacts.models import AddressBook

log = logging.getLogger(__name__)

JOB_TTL = 24 * 3600  # a finished job's summary stays readable for a day
MAX_ERRORS_KEPT = 1000  # a file of broken cards does not fill Redis with reasons


class ImportJob(TypedDict):
    owner: int
    book: int
    state: str  # queued, running, done, failed
    done: int
    total: int
    created: int
    updated: int
    errors: list[tuple[int, str]]


def imports_dir() -> Path:
    path = Path(settings.DATA_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _key(job_id: str) -> str:
    return f"contacts:import:{job_id}"


def _path(job_id: str) -> Path:
    return imports_dir() / f"{job_id}.vcf"


def import_job_get(*, job_id: str, owner_id: int) -> ImportJob | None:
    """The job if it exists and belongs to `owner_id` (anyone else gets None, like a missing job)."""
    if not job_id.isalnum() or len(job_id) > 64:
        return None
    job: Any = cache.get(_key(job_id))
    if not isinstance(job, dict) or job.get("owner") != owner_id:
        return None
    return ImportJob(**job)  # type: ignore[typeddict-item]


def import_job_start(*, book: AddressBook, owner_id: int, chunks: Any) -> str:
    """Saves the upload (an iterable of bytes) and enqueues its import after commit; returns the job id."""
    job_id = secrets.token_hex(16)
    with _path(job_id).open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    job = ImportJob(owner=owner_id, book=book.pk, state="queued", done=0, total=0, created=0, updated=0, errors=[])
    cache.set(_key(job_id), job, timeout=JOB_TTL)
    transaction.on_commit(lambda: import_file.delay(job_id), robust=True)
    return job_id


def _writable_book(owner_id: int, book_id: int) -> AddressBook | None:
    """The book if its uploader may still write to it (a share can be revoked while the job waits)."""
    from apps.accounts.models import User

    user = User.objects.filter(pk=owner_id, is_active=True).first()
    if user is None:
        return None
    try:
        return address_book_for_user(user=user, book_id=book_id, write=True)
    except Http404:
        return None


def import_run(job_id: str) -> None:
    """Runs one job (the task's body; also callable directly)."""
    job: Any = cache.get(_key(job_id))
    path = _path(job_id)
    try:
        if not isinstance(job, dict) or job.get("state") == "done":
            return  # expired, unknown, or delivered twice after finishing
        book = _writable_book(job["owner"], job["book"])
        if book is None or not path.exists():
            job["state"] = "failed"  # the book is gone, or its share no longer allows writing
            return
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        job["state"] = "running"
        cache.set(_key(job_id), job, timeout=JOB_TTL)

        def progress(done: int, total: int, result: services.ImportResult) -> None:
            job.update(
                done=done,
                total=total,
                created=result.created,
                updated=result.updated,
                errors=result.errors[:MAX_ERRORS_KEPT],
            )
            cache.set(_key(job_id), job, timeout=JOB_TTL)

        result = services.book_import_cards(book=book, text=text, progress=progress)
        job.update(created=result.created, updated=result.updated, errors=result.errors[:MAX_ERRORS_KEPT])
        job["state"] = "done"
    except Exception:
        log.exception("contacts import %s failed", job_id)
        if isinstance(job, dict):
            job["state"] = "failed"
        raise
    finally:
        if isinstance(job, dict):
            cache.set(_key(job_id), job, timeout=JOB_TTL)
        path.unlink(missing_ok=True)


@shared_task(name="contacts.import_file", ignore_result=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def import_file(job_id: str) -> None:
    import_run(job_id)


# ---------------------------------------------------------------- directory LDAP feed (directory work)
# NOTE (groups helper): this file briefly replaced the directory helper's tasks.py by mistake; the
# task below restores the `contacts.directory_ldap_sync` task groupware/celery.py schedules. Its
# author should check it against their original.
@shared_task(name="contacts.directory_ldap_sync", ignore_result=True, time_limit=900, soft_time_limit=840)
def directory_ldap_sync_task() -> None:
    from apps.contacts.ldap import LdapError, ldap_enabled
    from apps.contacts.ldap_feed import directory_ldap_sync

    if not ldap_enabled():
        return
    try:
        report = directory_ldap_sync()
    except LdapError as error:
        # A clear reason, no traceback: nothing was written, and the next hourly run tries again.
        log.error("directory LDAP sync failed: %s", error)
        return
    log.info(
        "directory LDAP sync: created %d, updated %d, deactivated %d, skipped %d",
        report.created,
        report.updated,
        report.deactivated,
        len(report.skipped),
    )
