from __future__ import annotations

import zoneinfo
from typing import Any, TypeAlias

from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.accounts.services import THEMES

StrOrPromise: TypeAlias = str | Promise


def _language_choices() -> list[tuple[str, StrOrPromise]]:
    # settings.LANGUAGES already holds lazily translated names.
    return [("", _("Follow the browser")), *settings.LANGUAGES]


def _time_zone_choices() -> list[tuple[str, str]]:
    default = _("Instance default (%(zone)s)") % {"zone": settings.TIME_ZONE}
    zones = sorted(zoneinfo.available_timezones() - {"localtime"})
    return [("", default), *((name, name.replace("_", " ")) for name in zones)]


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=_("Display name"),
        max_length=150,
        required=False,
        help_text=_("How colleagues see you. Empty: your username."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    avatar = forms.FileField(
        label=_("New avatar"),
        required=False,
        help_text=_("A PNG, JPEG, GIF or WebP picture; it is cropped to a square."),
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my avatar"), required=False)
    language = forms.ChoiceField(label=_("Language"), choices=_language_choices, required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=_time_zone_choices, required=False)
    theme = forms.ChoiceField(
        label=_("Theme"),
        choices=list(zip(THEMES, (_("Follow the system"), _("Light"), _("Dark")), strict=True)),
        widget=forms.RadioSelect,
    )
    # Shown to colleagues in the directory (contacts).
    phone = forms.CharField(
        label=_("Phone"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    job_title = forms.CharField(
        label=_("Job title"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )

    def __init__(
        self, *args: Any, has_avatar: bool = False, ldap_fields: frozenset[str] = frozenset(), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not has_avatar:
            del self.fields["remove_avatar"]
        # Fields the organisation's LDAP directory feeds: shown, not editable (a disabled field
        # ignores what is posted and keeps its initial value).
        for name in ldap_fields & set(self.fields):
            self.fields[name].disabled = True
            self.fields[name].help_text = _("Managed by your organisation's directory.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("remove_avatar") and cleaned.get("avatar"):
            raise forms.ValidationError(_("Choose either a new avatar or removing it, not both."))
        return cleaned


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form with a label that says what to type (labels, not placeholders)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.label = _("Username or email")
        login.widget.attrs["autocomplete"] = "username"
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)


class AppPasswordForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("The device or program it is for, for example “Phone contacts”."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
