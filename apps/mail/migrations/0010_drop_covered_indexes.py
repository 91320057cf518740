"""Drops the five single-column indexes of mail_message that other indexes cover or nothing reads.

The foreign keys' own indexes (account, folder, thread) are covered by the composite indexes that
lead with the same column; Message-ID is never looked up in this table (its two PostgreSQL indexes,
the second for LIKE, were dead weight). Each index costs every insert of the sync.

Only the indexes go: Django's AlterField would also drop and re-add the foreign keys, and on SQLite
it rebuilds the table, which drops the search triggers of 0004.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    # index name: its column
    "mail_message_account_id_174a598c": "account_id",
    "mail_message_folder_id_236ecf3b": "folder_id",
    "mail_message_thread_id_a84c19ad": "thread_id",
    "mail_message_message_id_fd6a0095": "message_id",
}
LIKE_INDEX = "mail_message_message_id_fd6a0095_like"


def drop(apps, schema_editor):
    for name in [*INDEXES, LIKE_INDEX]:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore(apps, schema_editor):
    for name, column in INDEXES.items():
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "mail_message" ("{column}")')
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{LIKE_INDEX}" ON "mail_message" ("message_id" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0009_search_trigger_simple"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="mail.mailaccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="folder",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="messages",
                        to="mail.folder",
                    ),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="message_id",
                    field=models.CharField(blank=True, max_length=500),
                ),
                migrations.AlterField(
                    model_name="message",
                    name="thread",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="messages",
                        to="mail.thread",
                    ),
                ),
            ],
        ),
    ]
