"""The contact form: fixed fields plus as many mail/phone/URL rows as the card has, and two blank ones."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.contacts import vcards

EMAIL_TYPES = [("", "—"), ("home", _("Home")), ("work", _("Work")), ("other", _("Other"))]
PHONE_TYPES = [*EMAIL_TYPES[:3], ("cell", _("Mobile")), ("fax", _("Fax")), ("other", _("Other"))]
URL_TYPES = EMAIL_TYPES
KINDS = (("email", EMAIL_TYPES), ("phone", PHONE_TYPES), ("url", URL_TYPES))
MAX_ROWS = 50


class ContactForm(forms.Form):
    full_name = forms.CharField(label=_("Display name"), max_length=500, required=False)
    given = forms.CharField(label=_("First name"), max_length=200, required=False)
    family = forms.CharField(label=_("Last name"), max_length=200, required=False)
    nickname = forms.CharField(label=_("Nickname"), max_length=200, required=False)
    organisation = forms.CharField(label=_("Organisation"), max_length=500, required=False)
    title = forms.CharField(label=_("Job title"), max_length=500, required=False)
    birthday = forms.CharField(
        label=_("Birthday"), max_length=40, required=False, help_text=_("For example 1980-04-21")
    )
    categories = forms.CharField(
        label=_("Categories"), max_length=1000, required=False, help_text=_("Separated by commas")
    )
    note = forms.CharField(label=_("Note"), max_length=10_000, required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, card: vcards.CardFields | None = None, **kwargs: Any) -> None:
        if card is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "full_name": card.full_name,
                "given": card.given,
                "family": card.family,
                "nickname": card.nickname,
                "organisation": card.organisation,
                "title": card.title,
                "birthday": card.birthday,
                "categories": ", ".join(card.categories),
                "note": card.note,
            }
        super().__init__(*args, **kwargs)
        self.rows: dict[str, list[tuple[forms.BoundField, forms.BoundField]]] = {}
        for kind, choices in KINDS:
            existing = {"email": card.emails, "phone": card.phones, "url": card.urls}[kind] if card else []
            count = len(existing) + 2
            if self.is_bound:  # as many rows as were posted
                while count < MAX_ROWS and f"{kind}_{count}_value" in self.data:
                    count += 1
            value_field: type[forms.CharField] = forms.EmailField if kind == "email" else forms.CharField
            self.rows[kind] = []
            for index in range(min(count, MAX_ROWS)):
                item = existing[index] if index < len(existing) else None
                chosen = next((t for t in (item.types if item else []) if t in dict(choices)), "")
                self.fields[f"{kind}_{index}_type"] = forms.ChoiceField(
                    label=_("Type"), choices=choices, required=False, initial=chosen
                )
                self.fields[f"{kind}_{index}_value"] = value_field(
                    label={"email": _("Mail"), "phone": _("Phone"), "url": _("Web address")}[kind],
                    max_length=500,
                    required=False,
                    initial=item.value if item else "",
                )
                self.rows[kind].append((self[f"{kind}_{index}_type"], self[f"{kind}_{index}_value"]))
        self.original = card

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        names = (data.get("full_name"), data.get("given"), data.get("family"), data.get("organisation"))
        if not any(names):
            raise forms.ValidationError(_("Give the contact a name or an organisation."))
        return data

    def card_fields(self) -> vcards.CardFields:
        data = self.cleaned_data
        typed: dict[str, list[vcards.Typed]] = {}
        for kind, _choices in KINDS:
            typed[kind] = []
            for index in range(len(self.rows[kind])):
                value = (data.get(f"{kind}_{index}_value") or "").strip()
                if not value:
                    continue
                chosen = data.get(f"{kind}_{index}_type") or ""
                # Keep the card's other types (pref, voice…) when the shown one is unchanged.
                old = self._original_types(kind, value)
                typed[kind].append(vcards.Typed(value, _merged_types(old, chosen, KINDS_CHOICES[kind])))
        full_name = (
            data["full_name"] or " ".join(p for p in (data["given"], data["family"]) if p) or data["organisation"]
        )
        return vcards.CardFields(
            full_name=full_name,
            given=data["given"],
            family=data["family"],
            nickname=data["nickname"],
            organisation=data["organisation"],
            title=data["title"],
            emails=typed["email"],
            phones=typed["phone"],
            urls=typed["url"],
            birthday=data["birthday"],
            note=data["note"],
            categories=[c.strip() for c in data["categories"].split(",") if c.strip()],
        )

    def _original_types(self, kind: str, value: str) -> list[str]:
        if self.original is None:
            return []
        items = {"email": self.original.emails, "phone": self.original.phones, "url": self.original.urls}[kind]
        return next((item.types for item in items if item.value == value), [])


KINDS_CHOICES = {kind: {c for c, _label in choices if c} for kind, choices in KINDS}


def _merged_types(old: list[str], chosen: str, offered: set[str]) -> list[str]:
    """The chosen type replaces the offered ones; types the form does not offer (pref, voice…) stay."""
    if chosen in old or (not chosen and not offered & set(old)):
        return old
    return ([chosen] if chosen else []) + [t for t in old if t not in offered]
