"""`link`: the same URL as Django's `reverse`, for every named route, from a shape built once."""

from __future__ import annotations

import random

import pytest
from django.urls import NoReverseMatch, get_resolver, reverse, set_script_prefix
from django.urls.converters import IntConverter

from apps.core.links import link


def _named_routes() -> list[tuple[str, int]]:
    """Every route name of the project (namespaced) whose arguments are all `<int:…>`, with their count."""
    found: list[tuple[str, int]] = []

    def walk(resolver: object, namespace: str) -> None:
        for key, entries in resolver.reverse_dict.lists():  # type: ignore[attr-defined]
            if not isinstance(key, str):
                continue
            for _possibilities, _pattern, _defaults, converters in entries:
                if all(isinstance(c, IntConverter) for c in converters.values()):
                    found.append((f"{namespace}{key}", len(converters)))
        for name, (_prefix, sub) in resolver.namespace_dict.items():  # type: ignore[attr-defined]
            walk(sub, f"{namespace}{name}:")

    walk(get_resolver(), "")
    return sorted(set(found))


ROUTES = _named_routes()


def test_the_project_has_routes_with_arguments_to_check() -> None:
    assert ("mail:folder_message", 2) in ROUTES
    assert sum(1 for _name, count in ROUTES if count) > 30


@pytest.mark.parametrize(("name", "count"), ROUTES)
def test_every_route_gives_what_reverse_gives(name: str, count: int) -> None:
    rng = random.Random(name)
    for _round in range(3):
        args = [rng.choice([0, 1, 7, 42, 10**12, rng.randrange(10**6)]) for _ in range(count)]
        try:
            expected = reverse(name, args=args)
        except NoReverseMatch:  # a name shared by routes of other shapes
            continue
        assert link(name, *args) == expected


def test_other_arguments_are_left_to_reverse() -> None:
    assert link("mail:message_part", 5, "1.2") == "/mail/m/5/part/1.2/"
    with pytest.raises(NoReverseMatch):
        link("mail:message_source", -1)
    with pytest.raises(NoReverseMatch):
        link("mail:message_part", 5, "../../admin")
    with pytest.raises(NoReverseMatch):
        link("mail:no_such_page")
    # A bool is an int to Python, not to the route: reverse's own check refuses it.
    with pytest.raises(NoReverseMatch):
        link("mail:message_source", True)


def test_a_script_prefix_gets_its_own_shape() -> None:
    assert link("mail:message_source", 7) == "/mail/m/7/source"
    try:
        set_script_prefix("/groupware/")
        assert link("mail:message_source", 7) == "/groupware/mail/m/7/source"
    finally:
        set_script_prefix("/")
    assert link("mail:message_source", 8) == "/mail/m/8/source"
