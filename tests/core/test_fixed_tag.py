"""`{% fixed %}`: text that depends only on the language is rendered once, and nothing else is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, TemplateSyntaxError, engines
from django.test import override_settings
from django.urls import set_script_prefix
from django.utils import translation

LOAD = "{% load i18n static fixed %}"


def _template(body: str) -> Any:
    return engines["django"].from_string(LOAD + body)


def test_renders_what_the_same_text_renders_without_it() -> None:
    body = (
        '<nav aria-label="{% translate \'Apps\' %}">{% translate "Archive" context "verb" %} '
        "{% blocktranslate %}Search{% endblocktranslate %} {% static 'css/ruche.css' %} {% url 'mail:home' %}"
        "{% comment %}not shown{% endcomment %}</nav>"
    )
    plain, fixed = _template(body), _template("{% fixed %}" + body + "{% endfixed %}")
    for language in ("fr", "en"):
        with translation.override(language):
            assert fixed.render({}) == plain.render({})


def test_each_language_gets_its_own_text_in_one_process() -> None:
    template = _template('{% fixed %}{% translate "Search" %}{% endfixed %}')
    with translation.override("fr"):
        assert template.render({}) == "Rechercher"
    with translation.override("en"):
        assert template.render({}) == "Search"
    with translation.override("fr"):
        assert template.render({}) == "Rechercher"


def test_rendered_once_then_reused() -> None:
    template = _template('{% fixed %}{% translate "Search" %}{% endfixed %}')
    node = next(n for n in template.template.nodelist if type(n).__name__ == "FixedNode")
    with translation.override("en"):
        template.render({})
        # What it keeps is what it shows: changing the kept text changes the next render.
        node.rendered[("en", "/", None, True)] = "kept"
        assert template.render({}) == "kept"


def test_a_script_prefix_gets_its_own_links() -> None:
    template = _template("{% fixed %}{% url 'mail:home' %}{% endfixed %}")
    try:
        set_script_prefix("/groupware/")
        assert template.render({}) == "/groupware/mail/"
    finally:
        set_script_prefix("/")
    assert template.render({}) == "/mail/"


def test_autoescape_off_is_kept_apart() -> None:
    template = _template('{% fixed %}{% translate "Search" %}{% endfixed %}')
    with translation.override("en"):
        assert template.template.render(Context({}, autoescape=False)) == "Search"
        assert template.template.render(Context({})) == "Search"


@pytest.mark.parametrize(
    "body",
    [
        "{{ user.email }}",
        "{% csrf_token %}",
        "{% translate subject %}",
        '{% translate "Search" as label %}',
        '{% translate "Search"|upper %}',
        '{% translate "Search" context kind %}',
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}",
        "{% blocktranslate count n=total %}one{% plural %}many{% endblocktranslate %}",
        "{% url 'mail:folder' folder.pk %}",
        "{% url 'mail:home' as home %}",
        "{% url view_name %}",
        "{% static path %}",
        "{% if user.is_staff %}admin{% endif %}",
        "{% include 'mail/_list.html' %}",
        "{% now 'Y' %}",
    ],
)
def test_anything_that_could_depend_on_the_request_is_refused(body: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="fixed"):
        _template("{% fixed %}" + body + "{% endfixed %}")


@override_settings(LANGUAGE_CODE="en")
def test_the_mailbox_templates_compile() -> None:
    # Every template that uses the tag, so a refused node shows up here and not on a page.
    for name in ("base.html", "mail/mailbox.html", "mail/_actions.html", "mail/_shortcuts_help.html"):
        engines["django"].get_template(name)
