"""Contacts at scale (a script, not a test): the pages of a 1,000-card book against a 50,000-card one.

    # SQLite (a fresh file in a temporary directory):
    .venv/bin/python bench/contacts.py
    # PostgreSQL (created afresh and dropped at the end; the name must contain "bench"):
    .venv/bin/python bench/contacts.py --database-url postgres://postgres@127.0.0.1:5432/ruche_contactsbench

Both books belong to one person and are filled through `services.book_import_cards` (the
background import's service: vobject parsing, derived columns, bulk inserts, change log), whose
rate is reported too. The cards are generated with a fixed seed: names from small lists (so a
3-letter substring matches many cards), 1-2 mails, a phone, 0-2 groups out of 20, about 2% near
duplicates (same mail in another case, name in another order) and one card with a rare word.

Each page is fetched through Django's test Client as the signed-in owner (middleware, access
checks, templates: what the browser gets), `--samples` times after one warm-up, and reported as
p50 / p95 for each book with the ratio 50k / 1k: near 1x is "flat" (the cost does not follow the
book's size).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

from mail_sync import (  # noqa: E402 - the path above makes the sibling script importable
    _clear_redis,
    _drop_database,
    ms,
    percentile,
    prepare_environment,
    setup_django,
)

FIRST = [
    "Marie",
    "Jean",
    "Pierre",
    "Sophie",
    "Lucas",
    "Emma",
    "Louis",
    "Chloé",
    "Hugo",
    "Léa",
    "Paul",
    "Alice",
    "Arthur",
    "Julie",
    "Nathan",
    "Camille",
    "Tom",
    "Sarah",
    "Martin",
    "Manon",
    "Marc",
    "Inès",
    "Théo",
    "Clara",
    "Victor",
    "Jade",
    "Adam",
    "Lina",
    "Noah",
    "Anna",
]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
]
ORGS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Tyrell", "", "")
GROUPS = [f"Group {n}" for n in range(1, 21)]
RARE = "Quetzalcoatl"
SUGGEST_URL = "/mail/recipients/"


def generate(count: int, seed: int) -> str:
    rng = random.Random(seed)
    cards = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        mail = f"{first}.{last}.{n}@example.test".lower()
        lines = [
            "BEGIN:VCARD",
            "VERSION:3.0",
            f"UID:bench-{seed}-{n}",
            f"FN:{first} {last}" if n != count // 3 else f"FN:{first} {RARE}",
            f"N:{last};{first};;;",
            f"EMAIL;TYPE=WORK:{mail}",
            f"TEL;TYPE=CELL:+33 6 {n // 10000 % 100:02d} {n // 100 % 100:02d} {n % 100:02d} {rng.randint(10, 99)}",
        ]
        if rng.random() < 0.4:
            lines.append(f"EMAIL;TYPE=HOME:{first}{n}@home.test".lower())
        org = rng.choice(ORGS)
        if org:
            lines.append(f"ORG:{org}")
        chosen = rng.sample(GROUPS, rng.choice((0, 1, 1, 2)))
        if chosen:
            lines.append("CATEGORIES:" + ",".join(chosen))
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines) + "\r\n")
        if rng.random() < 0.02:  # a near duplicate: the same mail in capitals, the name the other way round
            cards.append(
                f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:dup-{seed}-{n}\r\nFN:{last.upper()} {first}\r\n"
                f"EMAIL:{mail.upper()}\r\nEND:VCARD\r\n"
            )
    return "".join(cards)


def timed(fetch: Callable[[], Any], samples: int) -> list[float]:
    fetch()  # warm-up: templates compiled, connections open
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        response = fetch()
        times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise SystemExit(f"status {response.status_code}: {response.content[:300]!r}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="ruche-contacts-bench-"))
    prepare_environment(args.database_url, data_dir)
    try:
        setup_django()
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        try:
            _clear_redis()
        finally:
            if args.database_url:
                _drop_database(args.database_url)
            shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import User
    from apps.contacts import services
    from apps.contacts.models import Contact

    print(f"database: {connection.vendor}")
    owner = User.objects.create_user(username="bench", email="bench@example.test", password="x" * 20)
    client = Client()
    client.force_login(owner)

    def pages(book: Any, total: int) -> dict[str, Callable[[], Any]]:
        list_url = f"/contacts/?book={book.pk}"
        # The middle of the book, reached as the "Next" links do (a keyset cursor, not a page number).
        from apps.contacts import selectors

        halfway = selectors.contact_list(book=book).only("id", "sort_key")[total // 2]
        middle = quote(f"{halfway.pk}:{halfway.sort_key}")
        partial = {"X-Ruche-Partial": "results"}
        return {
            "list, first page": lambda: client.get(list_url),
            "list, middle page": lambda: client.get(f"{list_url}&after={middle}"),
            "search as you type 'mar'": lambda: client.get(f"{list_url}&q=mar", headers=partial),
            f"search a rare word '{RARE.lower()[:6]}'": lambda: client.get(
                f"{list_url}&q={RARE.lower()[:6]}", headers=partial
            ),
            "group filter (first page)": lambda: client.get(f"/contacts/books/{book.pk}/groups/show/?name=Group+7"),
            "groups page (counts)": lambda: client.get(f"/contacts/books/{book.pk}/groups/"),
            "duplicates page": lambda: client.get(f"/contacts/books/{book.pk}/duplicates/"),
            "contact page (with its groups)": lambda: client.get(f"/contacts/{probe}/"),
            "composer autocomplete 'mar'": lambda: client.get(f"{SUGGEST_URL}?q=mar"),
        }

    results: dict[str, dict[str, list[float]]] = {}
    # One book after the other: the autocomplete reads every book of the person, so it is measured
    # with 1,000 cards in all, then with 51,000.
    for label, count in (("1k", args.small), ("50k", args.large)):
        text = generate(count, seed=count)
        book = services.book_create(owner=owner, name=f"Bench {label}")
        start = time.perf_counter()
        services.book_import_cards(book=book, text=text)
        elapsed = time.perf_counter() - start
        total = Contact.objects.filter(book=book).count()
        print(f"import {label}: {total} cards in {elapsed:.1f} s ({total / elapsed:.0f} cards/s)", flush=True)
        if connection.vendor == "postgresql":
            # What autovacuum does soon after a big import: statistics, and the visibility map
            # that lets COUNT(*) read the index alone.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE contacts_contact")
        probe = Contact.objects.filter(book=book).order_by("pk").values_list("pk", flat=True)[total // 2]
        for name, fetch in pages(book, total).items():
            results.setdefault(name, {})[label] = timed(fetch, args.samples)

    print(f"\n{'page':<34} {'1k p50':>9} {'1k p95':>9} {'50k p50':>9} {'50k p95':>9} {'50k/1k':>8}")
    for name, by_label in results.items():
        small, large = by_label["1k"], by_label["50k"]
        ratio = statistics.median(large) / statistics.median(small)
        verdict = "flat" if ratio < 1.5 else ""
        print(
            f"{name:<34} {ms(percentile(small, 0.5)):>9} {ms(percentile(small, 0.95)):>9} "
            f"{ms(percentile(large, 0.5)):>9} {ms(percentile(large, 0.95)):>9} {ratio:>7.2f}x {verdict}"
        )


if __name__ == "__main__":
    main()
