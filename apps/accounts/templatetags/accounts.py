from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signup_open(context: dict[str, Any]) -> bool:
    """Whether the sign-in page may offer a link to sign up (closed unless RUCHE_SIGNUP_OPEN)."""
    request = context.get("request")
    return request is not None and bool(get_adapter(request).is_open_for_signup(request))
