"""The apps shown in the shell's rail.

An app appears by declaring `nav_items` on its AppConfig, so only apps that
exist (and have pages) are listed; nothing here names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.apps import apps
from django.http import HttpRequest

from apps.core.links import link

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


@dataclass(frozen=True)
class NavItem:
    label: str | StrPromise  # lazy: translated when the rail is drawn
    url_name: str
    icon: str
    staff_only: bool = False


@dataclass(frozen=True)
class NavEntry:
    label: str
    url: str
    icon: str
    current: bool


def nav_for_request(request: HttpRequest) -> list[NavEntry]:
    user = getattr(request, "user", None)
    entries: list[NavEntry] = []
    for config in apps.get_app_configs():
        for item in getattr(config, "nav_items", ()):
            if item.staff_only and not (user is not None and user.is_staff):
                continue
            url = link(item.url_name)
            current = request.path == url if url == "/" else request.path.startswith(url)
            entries.append(NavEntry(label=str(item.label), url=url, icon=item.icon, current=current))
    return entries
