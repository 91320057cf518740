"""The Celery application: workers run the `sync` and `default` queues, beat the schedule."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "groupware.settings")

app = Celery("groupware")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Proves that beat and a worker are alive (shown by `manage.py status`).
    "heartbeat": {
        "task": "core.heartbeat",
        "schedule": 15.0,
        # The header tells the publish hook (apps.core.heartbeats) that beat itself sent it.
        "options": {"expires": 14, "headers": {"ruche_origin": "beat"}},
    },
    # Marks offline the users whose connections stopped sending heartbeats (crashed web node).
    "presence-sweep": {"task": "chat.presence_sweep", "schedule": 10.0, "options": {"expires": 9}},
    # Enqueues a sync of the mail accounts not synced for RUCHE_MAIL_SYNC_INTERVAL (paused ones skipped).
    "mail-sync-sweep": {"task": "mail.sync_sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Brings back the snoozed messages whose time has passed (a task with an ETA does it on time;
    # this catches a lost task or a restarted worker).
    "mail-snooze-sweep": {"task": "mail.snooze_sweep", "schedule": 60.0, "options": {"expires": 55}},
    # Sends held messages (undo delay, scheduled send) that are due and that no ETA task sent.
    "mail-outbox-sweep": {"task": "mail.outbox_sweep", "schedule": 30.0, "options": {"expires": 25}},
}

# The directory's LDAP feed (apps/contacts/ldap_feed.py), hourly, only where an LDAP server is set.
# Read with the settings' own reader: this module loads before Django's settings.
from groupware.env import env_str  # noqa: E402

if env_str("RUCHE_LDAP_URL"):
    app.conf.beat_schedule["directory-ldap-sync"] = {
        "task": "contacts.directory_ldap_sync",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    }
