"""Sign-in with IMAP credentials (Roundcube-style), for the domains an admin lists.

Off unless settings.RUCHE_IMAP_LOGIN_DOMAINS names domains; the settings then add this backend
after the usual ones. allauth's login form calls `authenticate(request, email=..., username=...,
password=...)`; this backend answers only for addresses of the listed domains, by an IMAP LOGIN
on the configured server. allauth counts failed logins before any backend runs, so its rate
limits apply here too. A refused login looks exactly like any wrong password.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from apps.mail.imap import ImapConnection, ImapError, ImapLoginError, ImapSettings
from apps.mail.services import mail_login_user_provision

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.http import HttpRequest

logger = logging.getLogger(__name__)

LOGIN_TIMEOUT = 10.0


def imap_login_domain(address: str) -> str | None:
    """The address's domain when IMAP sign-in is on for it, else None."""
    local_part, sep, domain = address.strip().rpartition("@")
    domain = domain.lower()
    if not sep or not local_part or domain not in settings.RUCHE_IMAP_LOGIN_DOMAINS:
        return None
    return domain


class ImapLoginBackend(ModelBackend):
    """Authenticates against the IMAP server; sessions and permissions work as ModelBackend's."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        email: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        address = (email or username or "").strip()
        if not password or imap_login_domain(address) is None:
            return None
        local_part, _sep, domain = address.rpartition("@")
        address = f"{local_part}@{domain.lower()}"
        imap = ImapSettings(
            host=settings.RUCHE_IMAP_LOGIN_HOST,
            port=settings.RUCHE_IMAP_LOGIN_PORT,
            security=settings.RUCHE_IMAP_LOGIN_SECURITY,
            username=address,
            password=password,
        )
        try:
            with ImapConnection(imap, connect_timeout=LOGIN_TIMEOUT, read_timeout=LOGIN_TIMEOUT):
                pass
        except ImapLoginError:
            return None
        except ImapError as exc:
            # The server is down or misconfigured: the person sees "wrong password" like anyone
            # else (no oracle), the admin sees why in the log. The message holds no password.
            logger.warning("IMAP sign-in for %s failed: %s", domain.lower(), exc)
            return None
        user = mail_login_user_provision(address=address, password=password, imap=imap)
        return user if self.user_can_authenticate(user) else None
