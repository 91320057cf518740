"""Importing a .vcf file in the background: the upload, the Celery task, the progress only its owner reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.contacts import services, tasks
from apps.contacts.models import AddressBook, Contact
from apps.core.sharing import ShareLevel, share_grant, share_revoke
from groupware.celery import app
from tests.core.conftest import wait_until

GOOD = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:imp-{n}\r\nFN:Person {n}\r\nEMAIL:p{n}@example.test\r\nEND:VCARD\r\n"
BROKEN = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old format\r\nEND:VCARD\r\n"


def _cards(count: int, *, broken_at: tuple[int, ...] = ()) -> bytes:
    """`count` cards; the ones at these 1-based positions are vCard 2.1 (refused)."""
    parts = []
    for n in range(1, count + 1):
        if n in broken_at:
            parts.append(BROKEN)
        else:
            parts.append(GOOD.format(n=n))
    return "".join(parts).encode()


def _upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("contacts.vcf", data, content_type="text/vcard")


def _job_id(response: Any) -> str:
    assert response.status_code == 302, response.content[:500]
    return str(response["Location"].rstrip("/").split("/")[-1])


def _imports() -> list[Path]:
    return sorted(tasks.imports_dir().iterdir())


@pytest.fixture
def book(owner: Any) -> AddressBook:
    return services.book_ensure_personal(user=owner)


@pytest.mark.django_db
def test_cards_are_imported_in_batches_with_progress_and_numbered_errors(book: AddressBook) -> None:
    seen: list[tuple[int, int]] = []
    result = services.book_import_cards(
        book=book,
        text=_cards(1200, broken_at=(3, 777)).decode(),
        progress=lambda done, total, _result: seen.append((done, total)),
    )
    assert seen == [(500, 1200), (1000, 1200), (1200, 1200)]
    assert (result.created, result.updated) == (1198, 0)
    assert [number for number, _reason in result.errors] == [3, 777]  # numbers in the whole file
    assert Contact.objects.filter(book=book).count() == 1198


@pytest.mark.django_db
def test_upload_returns_at_once_and_enqueues_after_commit(
    owner_client: Client, book: AddressBook, django_capture_on_commit_callbacks: Any
) -> None:
    before = _imports()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(
            reverse("contacts:import_background", args=[book.pk]), {"file": _upload(_cards(20, broken_at=(5,)))}
        )
    job_id = _job_id(response)
    assert len(callbacks) == 1  # import_file.delay(job_id), sent only once the request committed
    assert Contact.objects.filter(book=book).count() == 0  # nothing imported in the request
    saved = [p for p in _imports() if p not in before]
    assert [p.name for p in saved] == [f"{job_id}.vcf"]
    assert saved[0].parent == Path(settings.DATA_DIR) / "imports"
    status = owner_client.get(reverse("contacts:import_job_status", args=[job_id])).json()
    assert status["state"] == "queued"

    tasks.import_run(job_id)  # what the worker runs

    status = owner_client.get(reverse("contacts:import_job_status", args=[job_id])).json()
    assert status == {
        "state": "done",
        "done": 20,
        "total": 20,
        "created": 19,
        "updated": 0,
        "errors": [{"card": 5, "reason": status["errors"][0]["reason"]}],
    }
    assert "3.0 and 4.0" in status["errors"][0]["reason"]
    assert not saved[0].exists()  # the file is deleted after
    page = owner_client.get(reverse("contacts:import_job", args=[job_id])).content.decode()
    assert "19 new, 0 updated" in page
    assert "Card 5:" in page


@pytest.mark.django_db
def test_a_second_delivery_of_a_finished_job_changes_nothing(owner_client: Client, book: AddressBook) -> None:
    response = owner_client.post(reverse("contacts:import_background", args=[book.pk]), {"file": _upload(_cards(3))})
    job_id = _job_id(response)
    tasks.import_run(job_id)
    tasks.import_run(job_id)
    status = owner_client.get(reverse("contacts:import_job_status", args=[job_id])).json()
    assert (status["state"], status["created"], status["updated"]) == ("done", 3, 0)
    assert Contact.objects.filter(book=book).count() == 3


@pytest.mark.django_db
def test_only_the_owner_reads_a_job(owner_client: Client, book: AddressBook, outsider: Any, colleague: Any) -> None:
    job_id = _job_id(
        owner_client.post(reverse("contacts:import_background", args=[book.pk]), {"file": _upload(_cards(2))})
    )
    for user in (outsider, colleague):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("contacts:import_job_status", args=[job_id])).status_code == 404
        assert client.get(reverse("contacts:import_job", args=[job_id])).status_code == 404
    anonymous = Client().get(reverse("contacts:import_job_status", args=[job_id]))
    assert anonymous.status_code == 302
    base = reverse("contacts:import_job_status", args=["x"]).removesuffix("x/status.json")
    for junk in ("nope", "..%2F..%2Fetc", "a" * 200, "%00"):
        assert owner_client.get(f"{base}{junk}/status.json").status_code == 404
    tasks.import_run(job_id)


@pytest.mark.django_db
def test_outsider_cannot_import_into_someone_elses_book(book: AddressBook, outsider: Any) -> None:
    client = Client()
    client.force_login(outsider)
    before = _imports()
    response = client.post(reverse("contacts:import_background", args=[book.pk]), {"file": _upload(_cards(2))})
    assert response.status_code == 404
    assert _imports() == before


@pytest.mark.django_db
def test_hostile_uploads_are_refused_or_reported(
    owner_client: Client, book: AddressBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = reverse("contacts:import_background", args=[book.pk])
    assert owner_client.post(url, {}).status_code == 400
    monkeypatch.setattr(services, "MAX_IMPORT_BYTES", 100)
    before = _imports()
    response = owner_client.post(url, {"file": _upload(_cards(5))})
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    assert _imports() == before
    monkeypatch.undo()
    job_id = _job_id(owner_client.post(url, {"file": _upload(b"\x00\xffnot a card at all")}))
    tasks.import_run(job_id)
    status = owner_client.get(reverse("contacts:import_job_status", args=[job_id])).json()
    assert status["state"] == "done"
    assert status["created"] == 0
    assert status["errors"][0]["card"] == 0


# ---------------------------------------------------------------- with a real worker
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_forget_broker_keys")
def test_a_real_worker_imports_the_file_and_reports_progress(owner: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    client = Client()
    client.force_login(owner)
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10):
        response = client.post(
            reverse("contacts:import_background", args=[book.pk]), {"file": _upload(_cards(1100, broken_at=(600,)))}
        )
        job_id = _job_id(response)
        status_url = reverse("contacts:import_job_status", args=[job_id])

        def finished() -> bool:
            return bool(json.loads(client.get(status_url).content)["state"] == "done")

        wait_until(finished, timeout=60, what="the import job")
    status = client.get(status_url).json()
    assert (status["done"], status["total"], status["created"]) == (1100, 1100, 1099)
    assert [e["card"] for e in status["errors"]] == [600]
    assert Contact.objects.filter(book=book).count() == 1099
    assert not (tasks.imports_dir() / f"{job_id}.vcf").exists()


@pytest.mark.django_db
def test_a_writer_imports_into_a_shared_book_until_the_share_is_revoked(owner: Any, colleague: Any) -> None:
    book = services.book_ensure_personal(user=owner)
    share = share_grant(actor=owner, collection=book, owner_id=owner.pk, grantee_user=colleague, level=ShareLevel.WRITE)
    client = Client()
    client.force_login(colleague)
    url = reverse("contacts:import_background", args=[book.pk])
    first = _job_id(client.post(url, {"file": _upload(_cards(2))}))
    tasks.import_run(first)
    assert Contact.objects.filter(book=book).count() == 2
    second = _job_id(client.post(url, {"file": _upload(_cards(4))}))
    share_revoke(actor=owner, collection=book, owner_id=owner.pk, share_id=share.pk)
    tasks.import_run(second)  # the worker checks the uploader's right again
    status = tasks.import_job_get(job_id=second, owner_id=colleague.pk)
    assert status is not None
    assert status["state"] == "failed"
    assert Contact.objects.filter(book=book).count() == 2
    assert not (tasks.imports_dir() / f"{second}.vcf").exists()
