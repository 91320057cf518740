"""The list's date labels (apps.mail.templatetags.mail.list_date): the user's zone and language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import dateformat, formats, timezone, translation

from apps.mail.templatetags.mail import list_date


def test_today_shows_the_time_in_the_users_zone_and_language() -> None:
    zone = ZoneInfo("Pacific/Kiritimati")  # +14: far from UTC, so a wrong zone shows
    now = datetime.now(zone).replace(hour=15, minute=7, second=9, microsecond=0)
    for language in ("en", "fr"):
        with timezone.override(zone), translation.override(language):
            expected = dateformat.time_format(now, formats.get_format("TIME_FORMAT"))
            assert list_date(now.astimezone(UTC)) == expected
            assert list_date(now.astimezone(UTC)) == expected  # a second time: from the cache
    with timezone.override(zone), translation.override("fr"):
        assert list_date(now.astimezone(UTC)) == "15:07"
    with timezone.override(zone), translation.override("en"):
        assert list_date(now.astimezone(UTC)) == "3:07 p.m."


def test_other_days_show_the_date() -> None:
    zone = ZoneInfo("Europe/Paris")
    with timezone.override(zone), translation.override("fr"):
        old = datetime(2019, 3, 4, 10, 0, tzinfo=UTC)
        assert list_date(old) == formats.date_format(old.astimezone(zone).date(), "SHORT_DATE_FORMAT")
        earlier = datetime.now(zone) - timedelta(days=400)
        assert list_date(earlier) != dateformat.time_format(earlier, formats.get_format("TIME_FORMAT"))
    assert list_date(None) == ""
