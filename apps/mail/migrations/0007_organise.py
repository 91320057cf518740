# Organising mail: per-account filing settings and snoozed messages (apps.mail.organise, apps.mail.snooze).
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("mail", "0006_body_index")]

    operations = [
        migrations.CreateModel(
            name="OrganiseSettings",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "archive_by_year",
                    models.BooleanField(
                        default=False,
                        help_text="Archived messages go to Archive/2026, Archive/2027… (created when needed).",
                        verbose_name="one archive sub-folder per year",
                    ),
                ),
                (
                    "account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="organise_settings",
                        to="mail.mailaccount",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Snooze",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("message_id_header", models.CharField(blank=True, max_length=500)),
                ("uid", models.BigIntegerField(blank=True, null=True)),
                ("subject", models.CharField(blank=True, max_length=1000)),
                ("sender", models.CharField(blank=True, max_length=320)),
                ("wake_at", models.DateTimeField(verbose_name="back at")),
                ("flag_on_wake", models.BooleanField(default=False)),
                (
                    "state",
                    models.CharField(
                        choices=[("snoozed", "Snoozed"), ("woken", "Back in the Inbox")],
                        default="snoozed",
                        max_length=8,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="snoozes", to="mail.mailaccount"
                    ),
                ),
                (
                    "folder",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="mail.folder",
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["state", "wake_at"], name="mail_snooze_due")]},
        ),
    ]
