from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.mail.imap import ImapError
from apps.mail.models import MailAccount
from apps.mail.services import mail_account_check_connection, mail_account_set_password


class MailAccountAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """Passwords are write-only: typed in, encrypted by the service, never shown again."""

    new_imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."),
    )
    new_smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current one. Not set: the IMAP password is used."),
    )
    clear_smtp_password = forms.BooleanField(
        label=_("Use the IMAP password for SMTP"), required=False, help_text=_("Forgets the SMTP password.")
    )

    class Meta:
        model = MailAccount
        fields = (
            "owner",
            "label",
            "email_address",
            "display_name",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "server_files_sent",
            "sieve_port",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and not cleaned.get("new_imap_password"):
            self.add_error("new_imap_password", _("A new account needs its IMAP password."))
        return cleaned


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = MailAccountAdminForm
    list_display = ("email_address", "label", "owner", "imap_host", "imap_port", "sync_status", "last_synced_at")
    list_filter = ("sync_status", "imap_security", "smtp_security", "server_files_sent")
    search_fields = ("email_address", "label", "display_name", "imap_host", "owner__username", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = ("imap_password_state", "smtp_password_state", "sync_status", "last_synced_at", "last_error")
    actions = ("check_connection",)
    fieldsets = (
        (None, {"fields": ("owner", "label", "email_address", "display_name")}),
        (
            _("Incoming mail (IMAP)"),
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_username",
                    "imap_password_state",
                    "new_imap_password",
                )
            },
        ),
        (
            _("Outgoing mail (submission)"),
            {
                "fields": (
                    "smtp_host",
                    "smtp_port",
                    "smtp_security",
                    "smtp_username",
                    "smtp_password_state",
                    "new_smtp_password",
                    "clear_smtp_password",
                    "server_files_sent",
                )
            },
        ),
        (_("Filters"), {"fields": ("sieve_port",)}),
        (_("Status"), {"fields": ("sync_status", "last_synced_at", "last_error")}),
    )

    @admin.display(description=_("IMAP password"))
    def imap_password_state(self, obj: MailAccount) -> str:
        return str(_("set") if obj.has_imap_password else _("not set"))

    @admin.display(description=_("SMTP password"))
    def smtp_password_state(self, obj: MailAccount) -> str:
        return str(_("set") if obj.has_smtp_password else _("not set (the IMAP password is used)"))

    def save_model(self, request: HttpRequest, obj: MailAccount, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        smtp_password = form.cleaned_data.get("new_smtp_password") or None
        if form.cleaned_data.get("clear_smtp_password"):
            smtp_password = ""
        mail_account_set_password(
            account=obj,
            imap_password=form.cleaned_data.get("new_imap_password") or None,
            smtp_password=smtp_password,
        )

    @admin.action(description=_("Test the IMAP connection"))
    def check_connection(self, request: HttpRequest, queryset: QuerySet[MailAccount]) -> None:
        for account in queryset:
            try:
                mail_account_check_connection(account=account)
            except ImapError as exc:
                self.message_user(request, f"{account.email_address}: {exc}", messages.ERROR)
            else:
                self.message_user(
                    request, _("%(address)s: login works.") % {"address": account.email_address}, messages.SUCCESS
                )
