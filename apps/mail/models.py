from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.crypto import SecretField

PORT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(65535)]


class Security(models.TextChoices):
    TLS = "tls", _("TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (unencrypted)")


class SyncStatus(models.TextChoices):
    NEW = "new", _("Not checked yet")
    OK = "ok", _("Working")
    ERROR = "error", _("Error")


class MailAccount(models.Model):
    """One mailbox on an IMAP server, with its submission server and ManageSieve.

    The server holds the mail; this row holds how to reach it. Passwords are Fernet tokens
    (`apps.core.crypto`), decrypted only by the protocol adapters right before use.
    An empty SMTP username or password means "the same as for IMAP".
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_accounts", verbose_name=_("owner")
    )
    label = models.CharField(_("label"), max_length=100, blank=True, help_text=_("Shown in the folder list."))
    email_address = models.EmailField(_("email address"))
    display_name = models.CharField(_("display name"), max_length=150, blank=True)

    imap_host = models.CharField(_("IMAP server"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993, validators=PORT_VALIDATORS)
    imap_security = models.CharField(_("IMAP security"), max_length=8, choices=Security.choices, default=Security.TLS)
    imap_username = models.CharField(_("IMAP username"), max_length=255)
    imap_password = SecretField(_("IMAP password (encrypted)"))

    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587, validators=PORT_VALIDATORS)
    smtp_security = models.CharField(
        _("SMTP security"), max_length=8, choices=Security.choices, default=Security.STARTTLS
    )
    smtp_username = models.CharField(
        _("SMTP username"), max_length=255, blank=True, help_text=_("Empty: the IMAP username.")
    )
    smtp_password = SecretField(_("SMTP password (encrypted)"))

    sieve_port = models.PositiveIntegerField(
        _("ManageSieve port"),
        null=True,
        blank=True,
        validators=PORT_VALIDATORS,
        help_text=_("On the IMAP server. Empty: no filters."),
    )
    server_files_sent = models.BooleanField(
        _("server files sent mail itself"),
        default=False,
        help_text=_("Some providers put every sent message into Sent; Ruche then does not add a copy."),
    )

    sync_status = models.CharField(
        _("status"), max_length=8, choices=SyncStatus.choices, default=SyncStatus.NEW, editable=False
    )
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")
        ordering = ("owner", "label", "email_address")
        constraints = [
            models.UniqueConstraint(fields=("owner", "email_address"), name="mail_account_unique_address_per_owner")
        ]

    def __str__(self) -> str:
        return self.label or self.email_address

    @property
    def smtp_login(self) -> str:
        return self.smtp_username or self.imap_username

    @property
    def has_imap_password(self) -> bool:
        return bool(self.imap_password)

    @property
    def has_smtp_password(self) -> bool:
        return bool(self.smtp_password)
