"""Forms of the mail pages. Passwords are write-only: a password field never renders a value."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.mail.models import Security

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_HOST = re.compile(r"^[a-z0-9]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$")


def clean_host(value: str) -> str:
    """A server name or IP address, as a person may paste it (scheme, port or path refused)."""
    host = value.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not ascii_host or len(ascii_host) > 253 or not _HOST.match(ascii_host):
        raise forms.ValidationError(
            _("Enter a server name such as imap.example.org, without “https://”, port or path."), code="host"
        )
    return ascii_host.rstrip(".")


def _port_field(label: StrOrPromise, *, required: bool = True) -> forms.IntegerField:
    return forms.IntegerField(label=label, min_value=1, max_value=65535, required=required)


def _security_field(label: StrOrPromise) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=Security.choices)


class AccountAddressForm(forms.Form):
    """Step 1 of adding an account: what a person knows by heart."""

    email_address = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("The password of this mailbox (or an app password from your provider)."),
    )


class AccountSettingsForm(forms.Form):
    """The servers and identity of an account (step 2 of adding it, and its settings page)."""

    label = forms.CharField(
        label=_("Name in the folder list"), max_length=100, required=False, help_text=_("Empty: the address.")
    )
    display_name = forms.CharField(
        label=_("Your name on sent mail"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    imap_host = forms.CharField(label=_("IMAP server"), max_length=255)
    imap_port = _port_field(_("IMAP port"))
    imap_security = _security_field(_("IMAP security"))
    imap_username = forms.CharField(
        label=_("IMAP username"), max_length=255, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    smtp_host = forms.CharField(label=_("SMTP server"), max_length=255, required=False, help_text=_("For sending."))
    smtp_port = _port_field(_("SMTP port"))
    smtp_security = _security_field(_("SMTP security"))
    smtp_username = forms.CharField(
        label=_("SMTP username"), max_length=255, required=False, help_text=_("Empty: the IMAP username.")
    )
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Empty: the IMAP password."),
    )
    sieve_port = _port_field(_("ManageSieve port (filters)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sieve_port"].help_text = _("On the IMAP server, usually 4190. Empty: no server-side filters.")
        # The page's script changes the port when the security changes (993 <-> 143, 465 <-> 587).
        for name in ("imap_security", "smtp_security"):
            self.fields[name].widget.attrs["data-security-for"] = name.replace("security", "port")

    def clean_imap_host(self) -> str:
        return clean_host(self.cleaned_data["imap_host"])

    def clean_smtp_host(self) -> str:
        value = self.cleaned_data.get("smtp_host") or ""
        return clean_host(value) if value.strip() else ""


class AccountAddSettingsForm(AccountSettingsForm):
    """Step 2 of adding: the password typed in step 1 is kept on the server, never sent back."""

    imap_password = forms.CharField(
        label=_("IMAP password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Empty: the password you typed in the first step."),
    )
    field_order = ("label", "display_name", "imap_host", "imap_port", "imap_security", "imap_username", "imap_password")


class AccountEditForm(AccountSettingsForm):
    imap_password = forms.CharField(
        label=_("New IMAP password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("Empty: unchanged."),
    )
    smtp_same_password = forms.BooleanField(
        label=_("Send with the IMAP password"),
        required=False,
        help_text=_("Forgets a separate SMTP password."),
    )
    field_order = ("label", "display_name", "imap_host", "imap_port", "imap_security", "imap_username", "imap_password")

    def __init__(self, *args: Any, has_smtp_password: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["smtp_password"].label = _("New SMTP password")
        self.fields["smtp_password"].help_text = (
            _("Empty: unchanged (a separate SMTP password is set).")
            if has_smtp_password
            else _("Empty: unchanged (the IMAP password is used).")
        )
        if not has_smtp_password:
            del self.fields["smtp_same_password"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("smtp_same_password") and cleaned.get("smtp_password"):
            raise forms.ValidationError(_("Either type a new SMTP password or send with the IMAP password, not both."))
        return cleaned


class ConfirmForm(forms.Form):
    """An empty form: the POST and its CSRF token are the confirmation."""
