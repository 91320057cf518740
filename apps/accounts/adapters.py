from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Closed by default: admins create users. RUCHE_SIGNUP_OPEN opens it.
        return bool(settings.RUCHE_SIGNUP_OPEN)
