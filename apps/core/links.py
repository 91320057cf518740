"""`reverse`, built once per process for each URL name: the pages' hot paths draw dozens of links.

Django's `reverse` (and `{% url %}`) costs 30 to 50 µs a call; a reading pane draws sixteen. Here a
name's URL is reversed once with placeholder numbers and cut around them; each call puts its own
numbers in their places. Only non-negative integers (what `<int:…>` accepts) take this path:
anything else goes to `reverse` itself, which checks it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

# Numbers no real path or prefix holds, one per argument.
_PLACEHOLDERS = tuple(str(9_174_100_000_000_000_001 + n) for n in range(4))
_SPLIT = re.compile("(" + "|".join(_PLACEHOLDERS) + ")")


def link(url_name: str, *args: object) -> str:
    """`reverse(url_name, args=args)`, with the URL's shape taken from a per-process cache."""
    if len(args) > len(_PLACEHOLDERS) or not all(type(arg) is int and arg >= 0 for arg in args):
        return reverse(url_name, args=args)
    shape = _shape(url_name, len(args), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    if shape is None:  # a pattern that does not take the placeholders (a regex with digit limits)
        return reverse(url_name, args=args)
    # Even places hold the URL's own text, odd places the index of the argument that goes there.
    return "".join(part if isinstance(part, str) else str(args[part]) for part in shape)


@lru_cache(maxsize=1024)
def _shape(url_name: str, count: int, prefix: str, urlconf: str) -> tuple[str | int, ...] | None:
    """The URL cut around its arguments; `prefix` and `urlconf` are part of the cache's key."""
    try:
        url = reverse(url_name, args=_PLACEHOLDERS[:count])
    except NoReverseMatch:
        if count:
            return None
        raise
    pieces = _SPLIT.split(url)
    found = pieces[1::2]
    if sorted(found) != sorted(_PLACEHOLDERS[:count]):  # each argument exactly once, or no shortcut
        return None
    return tuple(piece if i % 2 == 0 else _PLACEHOLDERS.index(piece) for i, piece in enumerate(pieces))
