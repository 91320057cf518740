"""`{% fixed %}…{% endfixed %}`: template text that depends on nothing but the language, rendered once.

A mailbox page holds about seventy `{% translate %}` of fixed text (labels, menus, the shortcuts
help), each a dozen function calls on every request. Inside `fixed` they are rendered once per
process, language, script prefix and URLconf, then reused.

Only nodes whose output cannot depend on the request are accepted, checked when the template is
compiled: text, comments, `{% load %}`, `{% translate "literal" %}`, `{% blocktranslate %}` without
variables, `{% static "literal" %}` and `{% url "name" %}` without arguments. Anything else
(a variable, `{% csrf_token %}`, `{% if %}`…) is a TemplateSyntaxError, so one user's data can
never be kept and shown to another.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.base import Node, NodeList, Parser, TextNode, Token, TokenType, Variable
from django.template.defaulttags import CommentNode, LoadNode, URLNode
from django.templatetags.i18n import BlockTranslateNode, TranslateNode
from django.templatetags.static import StaticNode
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


class FixedNode(Node):
    child_nodelists = ("nodelist",)

    def __init__(self, nodelist: NodeList) -> None:
        self.nodelist = nodelist
        # Bounded: one entry per language, script prefix, URLconf and autoescape setting the site uses.
        self.rendered: dict[tuple[str | None, str, str | None, bool], SafeString] = {}

    def render(self, context: template.Context) -> SafeString:
        key = (translation.get_language(), get_script_prefix(), get_urlconf(), context.autoescape)
        output = self.rendered.get(key)
        if output is None:
            output = self.rendered[key] = mark_safe(self.nodelist.render(context))  # noqa: S308 - checked nodes only
        return output


@register.tag
def fixed(parser: Parser, token: Token) -> FixedNode:
    nodelist = parser.parse(("endfixed",))
    parser.delete_first_token()
    for node in nodelist:
        if not _is_fixed(node):
            raise template.TemplateSyntaxError(
                f"{{% fixed %}} holds only text, comments, translations, static and url of literals, not {node!r}"
            )
    return FixedNode(nodelist)


def _is_fixed(node: Node) -> bool:
    if isinstance(node, TextNode | CommentNode | LoadNode):
        return True
    if isinstance(node, TranslateNode):
        var = node.filter_expression.var
        return (
            isinstance(var, Variable)
            and var.lookups is None
            and not node.filter_expression.filters
            and node.asvar is None
            and (node.message_context is None or _literal(node.message_context))
        )
    if isinstance(node, BlockTranslateNode):
        return (
            not node.extra_context
            and node.counter is None
            and node.asvar is None
            and (node.message_context is None or _literal(node.message_context))
            and all(token.token_type == TokenType.TEXT for token in [*node.singular, *(node.plural or [])])
        )
    if isinstance(node, StaticNode):
        return node.varname is None and _literal(node.path)
    if isinstance(node, URLNode):
        return not node.args and not node.kwargs and node.asvar is None and _literal(node.view_name)
    return False


def _literal(expression: Any) -> bool:
    """A FilterExpression of a quoted constant, without filters."""
    return isinstance(expression.var, str) and not expression.filters
