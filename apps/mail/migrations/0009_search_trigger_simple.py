"""The search document trigger of mail_message (0004), rewritten to cost a third on PostgreSQL.

Same document, same cases: on INSERT the body is NULL, on UPDATE it is read from
mail_messagebody. In 0004 that read sat inside the assigned expression (a CASE with a
subquery), which PL/pgSQL cannot run as a "simple expression": every row went through a full
executor start and stop (about 50 µs). The sync inserts thousands of rows a second, so the
subquery now runs in its own statement, on UPDATE only, and the assignment is a simple
expression again. SQLite's FTS5 triggers are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SIMPLE = """
CREATE OR REPLACE FUNCTION mail_message_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    body text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        body := (SELECT text FROM mail_messagebody WHERE message_id = NEW.id);
    END IF;
    NEW.search_document := mail_message_search_document(
        NEW.subject, NEW.from_name, NEW.from_address, NEW."to"::text || ' ' || NEW.cc::text, body);
    RETURN NEW;
END $$
"""

ORIGINAL = """
CREATE OR REPLACE FUNCTION mail_message_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_document := mail_message_search_document(
        NEW.subject, NEW.from_name, NEW.from_address, NEW."to"::text || ' ' || NEW.cc::text,
        CASE WHEN TG_OP = 'UPDATE'
             THEN (SELECT text FROM mail_messagebody WHERE message_id = NEW.id) END);
    RETURN NEW;
END $$
"""


def _on_postgresql(statement: str) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("mail", "0008_compose")]

    operations = [migrations.RunPython(_on_postgresql(SIMPLE), _on_postgresql(ORIGINAL))]
