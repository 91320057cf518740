"""CardDAV benchmark (a script, not a test): Ruche's DAV server against Radicale, same client, same cards.

    # SQLite (a fresh file in a temporary directory), 5,000 cards:
    .venv/bin/python bench/dav.py
    # PostgreSQL (created afresh and dropped at the end; the name must contain "bench"):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ruche_davbench .venv/bin/python bench/dav.py --n 5000

Needs Redis (REDIS_URL; keys under a private prefix, removed at the end) and Radicale
(requirements-dev.txt). It starts, on free loopback ports, and stops on exit (Ctrl-C included):

* Ruche's web process as `./ruche run` starts it (uvicorn groupware.asgi:application, one process,
  pooled PostgreSQL connections), on the bench database, with the production password hasher;
* Radicale with htpasswd (plain) authentication and a temporary storage folder.

One keep-alive `requests.Session` talks to both with HTTP Basic on every request, as DAV clients
do (Ruche: an app password; Radicale: its htpasswd user). Each server gets one address book and,
line by line:

* OPTIONS on the book (information: the floor of HTTP + authentication + routing);
* N generated vCards (3.0 and 4.0; names from several languages, several mails and phones,
  addresses, about one in twenty with a ~10 KB JPEG PHOTO) PUT one by one with If-None-Match: *:
  p50, p95, and p50 of the last 500 over p50 of the first 500 ("flat": the cost of a PUT does not
  grow with the collection);
* PROPFIND Depth 1 (getetag, getcontenttype) on the N-card book;
* REPORT addressbook-query, FN contains a name substring (i;unicode-casemap), address data returned;
* REPORT sync-collection from a token taken just before 10 changes (5 updates, 5 deletes).

Each line is a p50 of --samples runs. The table gives Ruche, Radicale, Radicale/Ruche (above 1x:
Ruche is faster), the target and the verdict: ok when Ruche meets the target and beats Radicale.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BENCH_DIR))

from mail_sync import (  # noqa: E402 - the path above makes the sibling script importable
    _clear_redis,
    _drop_database,
    percentile,
    prepare_environment,
    setup_django,
)

from tests.dav.clients import (  # noqa: E402
    CARD,
    D,
    RadicaleServer,
    free_port,
    mkcol_addressbook_body,
    parse_multistatus,
    q,
    wait_for_port,
)

USERNAME = "bench"
QUERY_TEXT = "SCHRÖ"  # Schröder: about 3% of the cards; upper case and non-ASCII exercise the collation
CHANGES = 10
PUT_TARGET, PROPFIND_TARGET, QUERY_TARGET, SYNC_TARGET = 0.015, 0.100, 0.030, 0.020
FLAT_TARGET = 1.5  # last 500 PUTs' p50 within 1.5x the first 500's


# ---------------------------------------------------------------- cards
GIVEN = [
    "Anne", "Étienne", "Chloé", "François", "Jürgen", "Anneliese", "Zoë", "Søren", "Łukasz", "Małgorzata",
    "José", "María", "Martina", "João", "Ana", "Giulia", "Marco", "Aoife", "Siobhán", "Olamide", "Chidi",
    "Fatima", "Youssef", "Mehmet", "Ayşe", "Dmitri", "Ольга", "Иван", "Νίκος", "Ελένη", "Hiroshi", "Yuki",
    "明", "美玲", "伟", "Minh", "Thảo", "Priya", "Arjun", "Kwame", "Ngozi", "Lars", "Ingrid", "Marta",
]  # fmt: skip
FAMILY = [
    "Martin", "Bernard", "Dubois", "Lefèvre", "Müller", "Schröder", "Kowalski", "Wiśniewska", "Martínez",
    "García", "Fernández", "Rossi", "Bianchi", "O'Brien", "Ní Bhriain", "Okafor", "Adeyemi", "El Amrani",
    "Benali", "Yılmaz", "Öztürk", "Иванов", "Смирнова", "Παπαδόπουλος", "佐藤", "鈴木", "田中", "王", "李",  # noqa: RUF001
    "Nguyễn", "Trần", "Sharma", "Patel", "Mensah", "Andersen", "Johansson", "Martens", "de la Cruz",
]  # fmt: skip
ORGS = ["Mairie de Lyon", "Hôpital Nord", "Acme GmbH", "Coopérative du Rhône", "株式会社サンプル", "", "", ""]
TITLES = ["Directrice", "Ingénieur", "Kundenbetreuer", "Secretary", "Chef de projet", "", ""]
STREETS = ["12 rue de la Paix", "Hauptstraße 5", "Calle Mayor 3", "1-2-3 Shibuya", "221B Baker Street"]
CITIES = [("Paris", "75002", "France"), ("Berlin", "10115", "Germany"), ("Madrid", "28013", "Spain"),
          ("Tokyo", "150-0002", "Japan"), ("London", "NW1 6XE", "United Kingdom")]  # fmt: skip


def _ascii(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in folded if ch.isalnum()) or "x"


def _photo_jpeg(rng: random.Random) -> bytes:
    """A ~10 KB JPEG (noise compresses badly, like a real photo)."""
    from PIL import Image

    size = 96
    image = Image.frombytes("RGB", (size, size), bytes(rng.getrandbits(8) for _ in range(size * size * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _fold(line: str) -> str:
    """RFC 6350 folding at 75 octets (on characters here: close enough, and never splits one)."""
    if len(line) <= 75:
        return line
    parts = [line[:75]] + [line[i : i + 74] for i in range(75, len(line), 74)]
    return "\r\n ".join(parts)


def make_card(rng: random.Random, index: int, photo: bytes | None) -> tuple[str, str]:
    """(resource name, vCard text)."""
    uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    v4 = rng.random() < 0.3
    lines = ["BEGIN:VCARD", f"VERSION:{'4.0' if v4 else '3.0'}", f"UID:{uid}"]
    lines += [f"FN:{given} {family}", f"N:{family};{given};;;"]
    if rng.random() < 0.2:
        lines.append(f"NICKNAME:{given[:3]}")
    org, title = rng.choice(ORGS), rng.choice(TITLES)
    if org:
        lines.append(f"ORG:{org}")
    if title:
        lines.append(f"TITLE:{title}")
    local = f"{_ascii(given)}.{_ascii(family)}{index}"
    for kind, domain in rng.sample([("work", "example.org"), ("home", "example.net"), ("other", "mail.test")], 2):
        lines.append(f"EMAIL;TYPE={kind if v4 else 'INTERNET,' + kind.upper()}:{local}@{domain}")
    for kind in rng.sample(["cell", "work", "home"], rng.randint(1, 3)):
        number = f"+33 {rng.randint(1, 9)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        lines.append(f"TEL;TYPE={kind if v4 else kind.upper()}:{number}")
    if rng.random() < 0.5:
        street = rng.choice(STREETS)
        city, code, country = rng.choice(CITIES)
        lines.append(f"ADR;TYPE={'home' if v4 else 'HOME'}:;;{street};{city};;{code};{country}")
    if rng.random() < 0.3:
        lines.append(f"BDAY:{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
    if rng.random() < 0.2:
        lines.append(f"URL:https://www.example.org/~{local}")
    if rng.random() < 0.2:
        lines.append("NOTE:Rencontré au salon\\, à rappeler en septembre.")
    if rng.random() < 0.3:
        lines.append(f"CATEGORIES:{rng.choice(['Travail', 'Famille', 'Clients,VIP', 'Fournisseurs'])}")
    if rng.random() < 0.1:
        lines.append(f"X-PHONETIC-LAST-NAME:{_ascii(family)}")
    if photo is not None:
        data = base64.b64encode(photo).decode()
        lines.append(f"PHOTO:data:image/jpeg;base64,{data}" if v4 else f"PHOTO;ENCODING=b;TYPE=JPEG:{data}")
    lines.append("END:VCARD")
    return f"{uid}.vcf", "\r\n".join(_fold(line) for line in lines) + "\r\n"


def make_cards(count: int, seed: int = 5) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    photos = [_photo_jpeg(rng) for _ in range(8)]
    return [make_card(rng, i, rng.choice(photos) if rng.random() < 0.05 else None) for i in range(count)]


# ---------------------------------------------------------------- servers
@dataclass
class Target:
    name: str
    base: str  # the address book's URL, ending with /
    auth: tuple[str, str]
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


class RucheWeb:
    """Ruche's web process, started as the launcher starts it (one uvicorn process)."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        uvicorn = Path(sys.executable).parent / "uvicorn"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    str(uvicorn),
                    "groupware.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--lifespan",
                    "off",
                    "--no-server-header",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=BASE_DIR,
                env=os.environ.copy(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: stopped as a whole, by our id
            )
        wait_for_port(self.port, self.process, self.log, timeout=60)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _ruche_account() -> str:
    """The bench user, their personal book and an app password (the secret is returned)."""
    from apps.accounts.app_passwords import app_password_create
    from apps.accounts.models import User
    from apps.contacts.services import book_ensure_personal

    user = User.objects.create_user(username=USERNAME, email="bench@example.test", password=uuid.uuid4().hex)
    book_ensure_personal(user=user)
    return app_password_create(user=user, name="bench").secret


# ---------------------------------------------------------------- measuring
class Bench:
    def __init__(self, session: Any, cards: list[tuple[str, str]], samples: int) -> None:
        self.http = session
        self.cards = cards
        self.samples = samples

    def call(self, target: Target, method: str, url: str, body: str = "", **headers: str) -> tuple[float, Any]:
        start = time.perf_counter()
        response = self.http.request(method, url, data=body.encode("utf-8"), headers=headers, auth=target.auth)
        _ = response.content  # the whole answer, as a client reads it
        return time.perf_counter() - start, response

    def expect(self, response: Any, statuses: tuple[int, ...], what: str) -> None:
        if response.status_code not in statuses:
            raise SystemExit(f"{what}: {response.status_code} {response.text[:1500]}")

    def put_all(self, target: Target) -> None:
        times = []
        for index, (name, text) in enumerate(self.cards):
            seconds, response = self.call(
                target,
                "PUT",
                target.base + name,
                text,
                **{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"},
            )
            self.expect(response, (201, 204), f"{target.name} PUT #{index}")
            times.append(seconds)
            if (index + 1) % 1000 == 0:
                print(
                    f"    {target.name}: {index + 1:,} PUT, p50 so far {statistics.median(times) * 1000:.1f} ms",
                    flush=True,
                )
        target.samples["put"] = times

    def floor(self, target: Target) -> None:
        """OPTIONS on the book: HTTP, authentication and routing with no work behind them."""
        times = []
        for _i in range(self.samples):
            seconds, response = self.call(target, "OPTIONS", target.base)
            self.expect(response, (200, 204), f"{target.name} OPTIONS")
            times.append(seconds)
        target.samples["floor"] = times

    def propfind(self, target: Target) -> None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">'
            "<d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>"
        )
        times = []
        for _i in range(self.samples):
            seconds, response = self.call(target, "PROPFIND", target.base, body, Depth="1")
            self.expect(response, (207,), f"{target.name} PROPFIND")
            times.append(seconds)
        results, _token = parse_multistatus(response.content)
        target.notes["propfind"] = f"{len(results) - 1:,} cards listed"
        target.samples["propfind"] = times

    def query(self, target: Target) -> None:
        body = (
            f'<?xml version="1.0" encoding="utf-8"?><c:addressbook-query xmlns:d="DAV:" xmlns:c="{CARD}">'
            '<d:prop><d:getetag/><c:address-data/></d:prop><c:filter><c:prop-filter name="FN">'
            f'<c:text-match collation="i;unicode-casemap" match-type="contains">{QUERY_TEXT}</c:text-match>'
            "</c:prop-filter></c:filter></c:addressbook-query>"
        )
        times = []
        for _i in range(self.samples):
            seconds, response = self.call(target, "REPORT", target.base, body, Depth="1")
            self.expect(response, (207,), f"{target.name} addressbook-query")
            times.append(seconds)
        results, _token = parse_multistatus(response.content)
        target.notes["query"] = f"{len(results):,} cards match '{QUERY_TEXT}'"
        target.samples["query"] = times

    def sync_token(self, target: Target) -> str:
        body = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>'
        _s, response = self.call(target, "PROPFIND", target.base, body, Depth="0")
        self.expect(response, (207,), f"{target.name} PROPFIND sync-token")
        results, _token = parse_multistatus(response.content)
        token = results[0].props.get(q(D, "sync-token"))
        if token is None or not token.text:
            raise SystemExit(f"{target.name}: no DAV:sync-token on the book")
        return token.text.strip()

    def sync(self, target: Target, rounds: int) -> None:
        """Token, 10 changes (5 updates, 5 deletes of cards not touched before), then the timed REPORT."""
        times = []
        victims = iter(self.cards[len(self.cards) // 2 :])
        for _round in range(rounds):
            token = self.sync_token(target)
            expected = set()
            for change in range(CHANGES):
                name, text = next(victims)
                url = target.base + name
                if change % 2 == 0:
                    edited = text.replace("END:VCARD", f"NOTE:changed {change}\r\nEND:VCARD")
                    _s, r = self.call(target, "PUT", url, edited, **{"Content-Type": "text/vcard; charset=utf-8"})
                else:
                    _s, r = self.call(target, "DELETE", url)
                self.expect(r, (200, 201, 204), f"{target.name} change {change}")
                expected.add(urlsplit(url).path)
            body = (
                f'<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:">'
                f"<d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>"
                "<d:prop><d:getetag/></d:prop></d:sync-collection>"
            )
            seconds, response = self.call(target, "REPORT", target.base, body)
            self.expect(response, (207,), f"{target.name} sync-collection")
            results, _new = parse_multistatus(response.content)
            seen = {r.href for r in results}
            if seen != expected:
                raise SystemExit(f"{target.name} sync-collection: {len(seen)} changes reported, {CHANGES} made")
            times.append(seconds)
        target.samples["sync"] = times


# ---------------------------------------------------------------- report
@dataclass
class Line:
    label: str
    ruche: float | None
    radicale: float | None
    target: str
    within: bool | None  # Ruche meets the target (None: no target)
    is_ratio: bool = False


def _fmt(value: float | None, is_ratio: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if is_ratio else f"{value * 1000:,.1f} ms"


def table(lines: list[Line]) -> str:
    out = [f"  {'line':<40} {'Ruche':>11} {'Radicale':>11} {'Rad./Ruche':>11} {'target':>10}  verdict"]
    for line in lines:
        ratio = "-"
        faster = None
        if line.ruche and line.radicale:
            ratio = f"{line.radicale / line.ruche:.2f}x"
            faster = line.radicale > line.ruche
        verdict = ""
        if line.within is not None:
            beat = faster if faster is not None else True
            verdict = "ok" if line.within and beat else "MISSED"
            if line.within and not beat:
                verdict += " (slower than Radicale)"
            elif not line.within:
                verdict += " (target)"
        out.append(
            f"  {line.label:<40} {_fmt(line.ruche, line.is_ratio):>11} {_fmt(line.radicale, line.is_ratio):>11}"
            f" {ratio if not line.is_ratio else '-':>11} {line.target:>10}  {verdict}"
        )
    return "\n".join(out)


def lines_for(ruche: Target, radicale: Target, window: int) -> list[Line]:
    def p(target: Target, key: str, fraction: float = 0.5) -> float | None:
        samples = target.samples.get(key)
        return percentile(samples, fraction) if samples else None

    def flat(target: Target) -> float | None:
        samples = target.samples.get("put")
        if not samples:
            return None
        return statistics.median(samples[-window:]) / statistics.median(samples[:window])

    lines = [Line("OPTIONS (HTTP + auth floor), p50", p(ruche, "floor"), p(radicale, "floor"), "", None)]
    put50 = p(ruche, "put")
    lines.append(
        Line("PUT one card, p50", put50, p(radicale, "put"), "< 15 ms", put50 is not None and put50 < PUT_TARGET)
    )
    lines.append(Line("PUT one card, p95", p(ruche, "put", 0.95), p(radicale, "put", 0.95), "", None))
    flat_ruche = flat(ruche)
    lines.append(
        Line(
            f"PUT flat: p50 last {window} / first {window}",
            flat_ruche,
            flat(radicale),
            f"< {FLAT_TARGET}x",
            flat_ruche is not None and flat_ruche < FLAT_TARGET,
            is_ratio=True,
        )
    )
    for key, label, target_s in (
        ("propfind", "PROPFIND Depth 1, whole book, p50", PROPFIND_TARGET),
        ("query", f"addressbook-query FN ~ '{QUERY_TEXT}', p50", QUERY_TARGET),
        ("sync", f"sync-collection after {CHANGES} changes, p50", SYNC_TARGET),
    ):
        value = p(ruche, key)
        lines.append(
            Line(label, value, p(radicale, key), f"< {target_s * 1000:.0f} ms", value is not None and value < target_s)
        )
    return lines


# ---------------------------------------------------------------- main
@contextmanager
def stopped_on_exit(stops: list[Callable[[], None]]) -> Iterator[None]:
    """Runs every stop function on exit, SIGTERM included (Ctrl-C is a KeyboardInterrupt already)."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    previous_int = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGTERM, on_term)
    # A shell starts background jobs with SIGINT ignored; Ctrl-C / kill -INT must still clean up.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for stop in reversed(stops):
            try:
                stop()
            except Exception as exc:  # one failed stop must not leave the others running
                print(f"could not stop cleanly: {exc}")
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


def start_servers(only: str | None, data_dir: Path, stops: list[Callable[[], None]], secret: str) -> list[Target]:
    """Ruche's web process and Radicale; each one's stop is registered before it starts."""
    targets: list[Target] = []
    if only != "radicale":
        web = RucheWeb(data_dir / "web.log")
        stops.append(web.stop)
        web.start()
        targets.append(Target("Ruche", f"{web.url}/dav/addressbooks/{USERNAME}/contacts/", (USERNAME, secret)))
    if only != "ruche":
        password = uuid.uuid4().hex
        (data_dir / "radicale").mkdir()
        radicale = RadicaleServer({USERNAME: password}, directory=data_dir / "radicale")
        stops.append(radicale.stop)
        radicale.start()
        targets.append(Target("Radicale", f"{radicale.url}/{USERNAME}/contacts/", (USERNAME, password)))
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5_000, help="vCards PUT into each server (default 5000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL database to create, use and drop (default: $DATABASE_URL, else a fresh SQLite file)",
    )
    parser.add_argument("--keep-database", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--samples", type=int, default=30, help="requests per PROPFIND/query/sync line (default 30)")
    parser.add_argument("--only", choices=("ruche", "radicale"), help="measure one server only")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows when piped to a file
    if args.n < 20:
        parser.error("--n must be at least 20")
    if args.n // 2 < args.samples * CHANGES:
        parser.error(f"--n must be at least {2 * args.samples * CHANGES} for {args.samples} sync samples")

    import requests

    data_dir = Path(tempfile.mkdtemp(prefix="ruche-davbench-"))
    stops: list[Callable[[], None]] = [lambda: shutil.rmtree(data_dir, ignore_errors=True)]
    with stopped_on_exit(stops):
        prepare_environment(args.database_url, data_dir)
        if args.database_url and not args.keep_database:
            stops.insert(1, lambda: _drop_database(args.database_url))
        setup_django()
        stops.append(_clear_redis)
        from django.db import connection, connections

        print(f"database: {connection.vendor}; cards: {args.n:,}; samples per line: {args.samples}")
        secret = _ruche_account()
        connections.close_all()
        cards = make_cards(args.n)
        size = sum(len(text) for _name, text in cards)
        photos = sum("PHOTO" in text for _name, text in cards)
        print(f"cards: {size / len(cards) / 1024:.1f} KB on average, {photos} with a photo")

        targets = start_servers(args.only, data_dir, stops, secret)
        http = requests.Session()  # one keep-alive client for both servers
        stops.append(http.close)
        bench = Bench(http, cards, args.samples)
        for target in targets:
            if target.name == "Radicale":
                _s, made = bench.call(target, "MKCOL", target.base, mkcol_addressbook_body("Contacts"))
                bench.expect(made, (201,), "Radicale MKCOL")
            print(f"\n{target.name}: {target.base}")
            bench.floor(target)
            bench.put_all(target)
            bench.propfind(target)
            bench.query(target)
            bench.sync(target, args.samples)
            for key, note in target.notes.items():
                print(f"    {key}: {note}")

        ruche = next((t for t in targets if t.name == "Ruche"), Target("Ruche", "", ("", "")))
        radicale_target = next((t for t in targets if t.name == "Radicale"), Target("Radicale", "", ("", "")))
        window = min(500, max(1, args.n // 10))
        print("\nAll lines (Rad./Ruche above 1x: Ruche is faster; ok = within target and faster than Radicale):")
        print(table(lines_for(ruche, radicale_target, window)))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: the servers, database and files this run made are gone")
        sys.exit(130)
