"""`{% link 'app:name' arg … %}`: `{% url %}` through apps.core.links (the URL's shape reversed once)."""

from __future__ import annotations

from django import template

from apps.core.links import link as _link

register = template.Library()


@register.simple_tag
def link(url_name: str, *args: object) -> str:
    return _link(url_name, *args)
