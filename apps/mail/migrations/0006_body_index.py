"""Message.body_indexed: which bodies the background indexer (apps.mail.indexer) has done.

The column is added by hand rather than by AddField: on SQLite, Django adds a NOT NULL column by
rebuilding the table, which would drop the full-text triggers of migration 0004. A constant
database default lets the sync's bulk inserts (which name their columns) leave it out.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def _add_column(apps: Any, schema_editor: Any) -> None:
    default = "false" if schema_editor.connection.vendor == "postgresql" else "0"
    schema_editor.execute(f"ALTER TABLE mail_message ADD COLUMN body_indexed boolean DEFAULT {default} NOT NULL")
    # Bodies indexed before this migration (text already stored) need no second pass.
    schema_editor.execute(
        "UPDATE mail_message SET body_indexed = "
        + ("true" if default == "false" else "1")
        + " WHERE id IN (SELECT message_id FROM mail_messagebody WHERE text <> '')"
    )


def _drop_column(apps: Any, schema_editor: Any) -> None:
    # (SQLite ≥ 3.35 drops a column in place; the index on it is removed first.)
    schema_editor.execute("ALTER TABLE mail_message DROP COLUMN body_indexed")


class Migration(migrations.Migration):
    dependencies = [("mail", "0005_sync_state")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="message",
                    name="body_indexed",
                    field=models.BooleanField(db_default=False, default=False),
                )
            ],
            database_operations=[migrations.RunPython(_add_column, _drop_column)],
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("body_indexed", False)),
                fields=["account", "-sort_date", "-id"],
                name="mail_msg_body_pending",
            ),
        ),
    ]
