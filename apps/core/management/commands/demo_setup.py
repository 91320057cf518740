"""Demo users, and their mail accounts on the local demo mail domain. Safe to run at every start.

    manage.py demo_setup                                  # alice (admin), bob, carol
    manage.py demo_setup --mailstack-env DIR/mailstack.env  # + mail accounts on deploy/mailstack, seeded

`./ruche run` calls it outside production. Nothing is created twice: existing users keep their
password (unless --reset-passwords), accounts are refreshed (the stack's ports may change between
runs) and a mailbox is seeded only while its INBOX is empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import User
from apps.core.crypto import decrypt_secret
from apps.mail.demo import DemoPerson, demo_mailbox_seed
from apps.mail.imap import ImapError
from apps.mail.models import MailAccount, Security
from apps.mail.services import (
    mail_account_create,
    mail_account_schedule_sync,
    mail_account_set_password,
    mail_account_update_servers,
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    password: str
    admin: bool = False

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


DEMO_USERS = (
    DemoUser("alice", "Alice", "Martin", "alice-demo", admin=True),
    DemoUser("bob", "Bob", "Durand", "bob-demo"),
    DemoUser("carol", "Carol", "Nguyen", "carol-demo"),
)
DEFAULT_DOMAIN = "example.test"


def read_mailstack_env(path: Path) -> dict[str, str]:
    """The KEY=value file deploy/mailstack/setup.sh writes (values may be double-quoted)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip().strip('"')
    missing = [key for key in ("IMAP_PORT", "SUBMISSION_PORT", "MAIL_DOMAIN", "MAIL_USERS") if key not in values]
    if missing:
        raise CommandError(f"{path} lacks {', '.join(missing)} (is it a mailstack.env from deploy/mailstack?)")
    return values


class Command(BaseCommand):
    help = "Create the demo users (alice, bob, carol) and, with --mailstack-env, their mail accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--mailstack-env", type=Path, help="DIR/mailstack.env written by deploy/mailstack/setup.sh")
        parser.add_argument("--url", help="the address shown in the summary (default from PORT / RUCHE_BIND)")
        parser.add_argument(
            "--reset-passwords", action="store_true", help="set the demo passwords again on existing users"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_setup creates users with well-known passwords; it does not run in production.")
        env_file: Path | None = options["mailstack_env"]
        stack = read_mailstack_env(env_file) if env_file else None
        domain = stack["MAIL_DOMAIN"] if stack else DEFAULT_DOMAIN

        users = {demo.username: self._ensure_user(demo, domain, options["reset_passwords"]) for demo in DEMO_USERS}
        mail_lines: list[str] = []
        if stack is not None:
            mail_lines = self._ensure_mail(stack, users)
        self._print_summary(options["url"] or _default_url(), mail_lines, with_stack=stack is not None)

    # ---------------------------------------------------------------- users
    def _ensure_user(self, demo: DemoUser, domain: str, reset_password: bool) -> User:
        user_model = get_user_model()
        with transaction.atomic():
            user, created = user_model.objects.get_or_create(
                username=demo.username,
                defaults={
                    "email": f"{demo.username}@{domain}",
                    "first_name": demo.first_name,
                    "last_name": demo.last_name,
                    "display_name": demo.display_name,
                    "is_staff": demo.admin,
                    "is_superuser": demo.admin,
                },
            )
            if created or reset_password:
                user.set_password(demo.password)
                user.save(update_fields=["password"])
        if created:
            self.stdout.write(_("Created the demo user %(name)s.") % {"name": demo.username})
        assert isinstance(user, User)
        return user

    # ---------------------------------------------------------------- mail
    def _ensure_mail(self, stack: dict[str, str], users: dict[str, User]) -> list[str]:
        domain = stack["MAIL_DOMAIN"]
        host = stack.get("IMAP_HOST", "127.0.0.1")
        passwords = dict(pair.split(":", 1) for pair in stack["MAIL_USERS"].split() if ":" in pair)
        people = {
            demo.username: DemoPerson(demo.display_name, f"{demo.username}@{domain}")
            for demo in DEMO_USERS
            if demo.username in passwords
        }
        lines = []
        for demo in DEMO_USERS:
            if demo.username not in passwords:
                continue
            account = self._ensure_account(users[demo.username], stack, host, passwords[demo.username])
            # Two correspondents per mailbox: the other demo users, or a stranger when fewer are set up.
            peers = [person for name, person in people.items() if name != demo.username]
            peers += [DemoPerson("Dana Example", "dana@example.org")] * (2 - len(peers))
            try:
                added = demo_mailbox_seed(account=account, owner=people[demo.username], peers=peers, domain=domain)
            except ImapError as exc:
                self.stderr.write(
                    _("Could not seed the mailbox of %(name)s: %(error)s") % {"name": demo.username, "error": exc}
                )
                added = 0
            if added:
                self.stdout.write(
                    _("Seeded %(count)d messages into %(address)s.")
                    % {"count": added, "address": account.email_address}
                )
            # Synced as soon as the worker starts (incremental when the index already exists).
            mail_account_schedule_sync(account=account)
            lines.append(account.email_address)
        if lines:
            lines.append(
                _("IMAP %(host)s:%(imap)s, submission %(submission)s, no TLS (loopback only)")
                % {"host": host, "imap": stack["IMAP_PORT"], "submission": stack["SUBMISSION_PORT"]}
            )
        return lines

    def _ensure_account(self, user: User, stack: dict[str, str], host: str, password: str) -> MailAccount:
        address = f"{user.username}@{stack['MAIL_DOMAIN']}"
        imap_port, smtp_port = int(stack["IMAP_PORT"]), int(stack["SUBMISSION_PORT"])
        sieve_port = int(stack["SIEVE_PORT"]) if stack.get("SIEVE_PORT") else None
        # Loopback only, no TLS: the demo stack is not reachable from outside the machine.
        security = Security.NONE
        account = MailAccount.objects.filter(owner=user, email_address=address).first()
        if account is None:
            account = mail_account_create(
                owner=user,
                email_address=address,
                label=_("Demo mail"),
                display_name=user.shown_name,
                imap_host=host,
                imap_port=imap_port,
                imap_security=security,
                imap_username=address,
                imap_password=password,
                smtp_host=host,
                smtp_port=smtp_port,
                smtp_security=security,
                sieve_port=sieve_port,
            )
            self.stdout.write(_("Created the mail account %(address)s.") % {"address": address})
            return account
        # The stack's ports can change from one run to the next (free ports are chosen).
        account = mail_account_update_servers(
            account=account,
            imap_host=host,
            imap_port=imap_port,
            imap_security=security,
            smtp_host=host,
            smtp_port=smtp_port,
            smtp_security=security,
            sieve_port=sieve_port,
        )
        if decrypt_secret(account.imap_password) != password:
            mail_account_set_password(account=account, imap_password=password)
        return account

    # ---------------------------------------------------------------- summary
    def _print_summary(self, url: str, mail_lines: list[str], *, with_stack: bool) -> None:
        lines = [
            _("Ruche demo: open %(url)s") % {"url": url},
            "",
            _("Demo logins (username / password):"),
        ]
        width_name = max(len(demo.username) for demo in DEMO_USERS)
        for demo in DEMO_USERS:
            role = f"  ({_('administrator')})" if demo.admin else ""
            lines.append(f"  {demo.username.ljust(width_name)} / {demo.password}{role}")
        lines.append("")
        if with_stack:
            lines.append(_("Each has a mail account on the local demo domain:"))
            lines += [f"  {line}" for line in mail_lines]
        else:
            lines += [
                _("No demo mail domain is running. To read mail, add a mail account:"),
                _("  Administration → Mail accounts → Add (log in as alice),"),
                _("  or set RUCHE_MAIL_IMAP_HOST / RUCHE_MAIL_SUBMISSION_HOST as defaults."),
            ]
        width = max(len(line) for line in lines)
        self.stdout.write("┌" + "─" * (width + 2) + "┐")
        for line in lines:
            self.stdout.write(f"│ {line.ljust(width)} │")
        self.stdout.write("└" + "─" * (width + 2) + "┘")


def _default_url() -> str:
    bind = os.environ.get("RUCHE_BIND", "127.0.0.1")
    if bind in ("0.0.0.0", "::", ""):  # noqa: S104 - only shown, never bound
        bind = "127.0.0.1"
    return f"http://{bind}:{os.environ.get('PORT', '8000')}/"
