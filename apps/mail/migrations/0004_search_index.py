"""Full-text search over the message index, kept up to date by the database itself.

PostgreSQL: a tsvector column of mail_message (GIN-indexed). SQLite: an FTS5 table whose rowid
is the message id. Triggers on mail_message and mail_messagebody maintain both, so the sync engine's
bulk inserts and the body indexer need no extra step. The 'simple' configuration / unicode61
tokenizer: mail here is in French and English (and more), so no language-specific stemming.
"""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError, migrations, transaction

PG_FORWARD = [
    # A column Django does not know about: filled by triggers, read only by apps.mail.search.
    # (A side table with a foreign key would break Django's TRUNCATE-based test flush.)
    "ALTER TABLE mail_message ADD COLUMN search_document tsvector",
    """
    CREATE FUNCTION mail_message_search_document(
        subject text, from_name text, from_address text, recipients text, body text
    ) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
        SELECT setweight(to_tsvector('ruche_search', coalesce(subject, '')), 'A')
            || setweight(to_tsvector('ruche_search', coalesce(from_name, '') || ' ' || coalesce(from_address, '')
                   || ' ' || translate(coalesce(from_address, ''), '@.-_', '    ')), 'B')
            || setweight(to_tsvector('ruche_search', coalesce(recipients, '')), 'C')
            || setweight(to_tsvector('ruche_search', left(coalesce(body, ''), 200000)), 'D')
    $$
    """,
    """
    CREATE FUNCTION mail_message_search_on_message() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_document := mail_message_search_document(
            NEW.subject, NEW.from_name, NEW.from_address, NEW."to"::text || ' ' || NEW.cc::text,
            CASE WHEN TG_OP = 'UPDATE'
                 THEN (SELECT text FROM mail_messagebody WHERE message_id = NEW.id) END);
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER mail_message_search_document BEFORE INSERT OR UPDATE OF subject, from_name, from_address, "to", cc
    ON mail_message FOR EACH ROW EXECUTE FUNCTION mail_message_search_on_message()
    """,
    """
    CREATE FUNCTION mail_message_search_on_body() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE mail_message SET search_document = mail_message_search_document(
            subject, from_name, from_address, "to"::text || ' ' || cc::text, NEW.text)
        WHERE id = NEW.message_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER mail_message_search_body AFTER INSERT OR UPDATE OF text ON mail_messagebody
    FOR EACH ROW EXECUTE FUNCTION mail_message_search_on_body()
    """,
    """
    UPDATE mail_message m SET search_document = mail_message_search_document(
        m.subject, m.from_name, m.from_address, m."to"::text || ' ' || m.cc::text,
        (SELECT text FROM mail_messagebody b WHERE b.message_id = m.id))
    """,
    "CREATE INDEX mail_message_search_document ON mail_message USING GIN (search_document)",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS mail_message_search_body ON mail_messagebody",
    "DROP TRIGGER IF EXISTS mail_message_search_document ON mail_message",
    "DROP FUNCTION IF EXISTS mail_message_search_on_body()",
    "DROP FUNCTION IF EXISTS mail_message_search_on_message()",
    "DROP FUNCTION IF EXISTS mail_message_search_document(text, text, text, text, text)",
    "ALTER TABLE mail_message DROP COLUMN IF EXISTS search_document",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS ruche_search",
]

_SQLITE_PEOPLE = (
    "coalesce(NEW.from_name, '') || ' ' || coalesce(NEW.from_address, '') || ' ' "
    "|| coalesce(NEW.\"to\", '') || ' ' || coalesce(NEW.cc, '')"
)
SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE mail_message_fts USING fts5(
        subject, people, body, tokenize = 'unicode61 remove_diacritics 2'
    )
    """,
    f"""
    CREATE TRIGGER mail_message_fts_insert AFTER INSERT ON mail_message BEGIN
        INSERT INTO mail_message_fts (rowid, subject, people, body)
        VALUES (NEW.id, coalesce(NEW.subject, ''), {_SQLITE_PEOPLE},
                coalesce((SELECT text FROM mail_messagebody WHERE message_id = NEW.id), ''));
    END
    """,
    f"""
    CREATE TRIGGER mail_message_fts_update AFTER UPDATE OF subject, from_name, from_address, "to", cc
    ON mail_message BEGIN
        UPDATE mail_message_fts SET subject = coalesce(NEW.subject, ''), people = {_SQLITE_PEOPLE}
        WHERE rowid = NEW.id;
    END
    """,
    """
    CREATE TRIGGER mail_message_fts_delete AFTER DELETE ON mail_message BEGIN
        DELETE FROM mail_message_fts WHERE rowid = OLD.id;
    END
    """,
    """
    CREATE TRIGGER mail_message_fts_body_insert AFTER INSERT ON mail_messagebody BEGIN
        UPDATE mail_message_fts SET body = coalesce(NEW.text, '') WHERE rowid = NEW.message_id;
    END
    """,
    """
    CREATE TRIGGER mail_message_fts_body_update AFTER UPDATE OF text ON mail_messagebody BEGIN
        UPDATE mail_message_fts SET body = coalesce(NEW.text, '') WHERE rowid = NEW.message_id;
    END
    """,
    """
    INSERT INTO mail_message_fts (rowid, subject, people, body)
    SELECT m.id, coalesce(m.subject, ''),
           coalesce(m.from_name, '') || ' ' || coalesce(m.from_address, '') || ' '
           || coalesce(m."to", '') || ' ' || coalesce(m.cc, ''),
           coalesce(b.text, '')
    FROM mail_message m LEFT JOIN mail_messagebody b ON b.message_id = m.id
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS mail_message_fts_body_update",
    "DROP TRIGGER IF EXISTS mail_message_fts_body_insert",
    "DROP TRIGGER IF EXISTS mail_message_fts_delete",
    "DROP TRIGGER IF EXISTS mail_message_fts_update",
    "DROP TRIGGER IF EXISTS mail_message_fts_insert",
    "DROP TABLE IF EXISTS mail_message_fts",
]


def _pg_search_configuration(schema_editor: Any) -> None:
    """'simple' words, accents folded when the unaccent extension can be had ("ete" finds "été")."""
    schema_editor.execute("CREATE TEXT SEARCH CONFIGURATION ruche_search (COPY = simple)")
    try:
        with transaction.atomic():
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DatabaseError:
        return  # not allowed to create it here: words still match, accents must match too
    schema_editor.execute(
        "ALTER TEXT SEARCH CONFIGURATION ruche_search "
        "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple"
    )


def _run(statements: dict[str, list[str]], *, forward: bool) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"Ruche's mail search supports PostgreSQL and SQLite, not {vendor}.")
        if vendor == "postgresql" and forward:
            _pg_search_configuration(schema_editor)
        for statement in statements[vendor]:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("mail", "0003_preferences")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}, forward=True),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}, forward=False),
        )
    ]
