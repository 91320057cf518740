from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model

from apps.chat.presence import Status, presence_for_users

User = get_user_model()

_ORDER: dict[Status, int] = {"online": 0, "busy": 1, "away": 2, "offline": 3}


@dataclass(frozen=True)
class Colleague:
    id: int
    name: str
    initials: str
    status: Status
    last_seen: datetime | None


def colleagues_with_presence(*, user_id: int, limit: int = 200) -> list[Colleague]:
    """The instance's other active users, those online first."""
    users = list(
        User.objects.filter(is_active=True)
        .exclude(pk=user_id)
        .only("id", "username", "first_name", "last_name", "display_name")
        .order_by("display_name", "username")[:limit]
    )
    states = presence_for_users([u.pk for u in users])
    colleagues = [
        Colleague(
            id=u.pk,
            name=u.shown_name,
            initials=u.initials,
            status=states[u.pk]["status"],
            last_seen=(datetime.fromtimestamp(ls, tz=UTC) if (ls := states[u.pk]["last_seen"]) is not None else None),
        )
        for u in users
    ]
    colleagues.sort(key=lambda c: (_ORDER[c.status], c.name.lower()))
    return colleagues
