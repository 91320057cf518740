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
    # Set when the server refuses the password: sweeps skip the account (no retry storm, no lockout
    # by the provider) until mail_account_set_password stores a new one.
    sync_paused = models.BooleanField(_("sync paused"), default=False, editable=False)

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


class FolderRole(models.TextChoices):
    """RFC 6154 special-use roles (plus the Inbox)."""

    NONE = "", _("Folder")
    INBOX = "inbox", _("Inbox")
    DRAFTS = "drafts", _("Drafts")
    SENT = "sent", _("Sent")
    TRASH = "trash", _("Trash")
    JUNK = "junk", _("Junk")
    ARCHIVE = "archive", _("Archive")


class Folder(models.Model):
    """One IMAP mailbox of an account, and where the index stands for it.

    `name` is the server's name (modified UTF-7 already decoded); `uidvalidity` changing means
    every indexed UID is void and the folder is rebuilt. The index is filled newest first:
    `backfill_below` is the lowest UID indexed so far, older messages are fetched below it.
    """

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="folders")
    name = models.CharField(_("name"), max_length=1000)
    delimiter = models.CharField(max_length=4, blank=True)
    role = models.CharField(_("role"), max_length=8, choices=FolderRole.choices, blank=True, default="")
    attributes = models.JSONField(default=list, blank=True)  # LIST flags, as strings
    subscribed = models.BooleanField(default=True)
    selectable = models.BooleanField(default=True)

    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uidnext = models.BigIntegerField(null=True, blank=True)
    highestmodseq = models.BigIntegerField(null=True, blank=True)
    backfill_below = models.BigIntegerField(null=True, blank=True)
    backfill_done = models.BooleanField(default=False)

    total = models.PositiveIntegerField(default=0)
    unread = models.PositiveIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("account", "name"), name="mail_folder_unique_name")]
        ordering = ("account", "name")

    def __str__(self) -> str:
        return self.name


class Thread(models.Model):
    """A conversation: messages linked by Message-ID / In-Reply-To / References, across folders."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="threads")
    subject = models.CharField(max_length=1000, blank=True)
    last_date = models.DateTimeField(null=True, blank=True, db_index=True)
    message_count = models.PositiveIntegerField(default=0)
    unread_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.subject


class ThreadReference(models.Model):
    """One Message-ID known to belong to a thread: its own message's, or one it references.

    JWZ's id table, kept in the database: a message joins the thread of every key it carries
    (its own Message-ID, In-Reply-To, References), so a reply synced before its original (newest
    first), or a parent that never arrives, still links the conversation.
    """

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="references")
    key = models.CharField(max_length=500)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("account", "key"), name="mail_thread_reference_unique_key")]

    def __str__(self) -> str:
        return self.key


class Message(models.Model):
    """The index entry of one message in one folder: what lists, threads and search need.

    Addresses are lists of [name, address] pairs. The body is not here: it is fetched on demand
    (`MessageBody`). `sort_date` is the Date header when sane, else INTERNALDATE.
    """

    # No index of their own: the composite indexes below lead with each of these columns, and
    # every index is paid for on each of the sync's inserts (Message-ID is never looked up here:
    # threads are found through ThreadReference).
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="messages", db_index=False)
    folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="messages", db_index=False)
    uid = models.BigIntegerField()
    modseq = models.BigIntegerField(null=True, blank=True)
    thread = models.ForeignKey(
        Thread, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages", db_index=False
    )

    message_id = models.CharField(max_length=500, blank=True)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)

    subject = models.CharField(max_length=1000, blank=True)
    from_name = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)

    date = models.DateTimeField(null=True, blank=True)
    internal_date = models.DateTimeField(null=True, blank=True)
    sort_date = models.DateTimeField()
    size = models.PositiveIntegerField(default=0)

    seen = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    answered = models.BooleanField(default=False)
    draft = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    keywords = models.JSONField(default=list, blank=True)

    has_attachments = models.BooleanField(default=False)
    list_id = models.CharField(max_length=500, blank=True)
    list_unsubscribe = models.TextField(blank=True)
    list_unsubscribe_post = models.BooleanField(default=False)
    spam_score = models.FloatField(null=True, blank=True)
    spam_flag = models.BooleanField(default=False)
    # The body's text is in the search index (apps.mail.indexer); a database default so the
    # sync's bulk inserts, which name their columns, need not know about it.
    body_indexed = models.BooleanField(default=False, db_default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("folder", "uid"), name="mail_message_unique_uid")]
        indexes = [
            models.Index(fields=("folder", "-sort_date", "-uid"), name="mail_msg_folder_date"),
            models.Index(fields=("account", "-sort_date"), name="mail_msg_account_date"),
            models.Index(fields=("folder", "seen"), name="mail_msg_folder_seen"),
            models.Index(fields=("thread", "sort_date"), name="mail_msg_thread_date"),
            # The body indexer's queue, newest first; small once the backlog is done.
            models.Index(
                fields=("account", "-sort_date", "-id"),
                condition=models.Q(body_indexed=False),
                name="mail_msg_body_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.subject or f"<{self.uid}>"


class MessageBody(models.Model):
    """A fetched message, kept so reopening it costs no IMAP round trip.

    `raw` holds the RFC 822 bytes when they fit the cache cap (settings.RUCHE_MAIL_BODY_CACHE_MAX);
    larger messages keep only `text` (for search) and are fetched again when opened.
    """

    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="body")
    raw = models.BinaryField(null=True, blank=True)
    text = models.TextField(blank=True)  # plain text for full-text search, capped
    fetched_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"body of message {self.message_id}"


class MailPreferences(models.Model):
    """How one person reads mail. Created on first use with the defaults below."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_preferences")
    conversation_view = models.BooleanField(_("group messages into conversations"), default=True)
    mark_read_on_open = models.BooleanField(_("mark a message read when it is opened"), default=True)
    # Senders whose remote images load without asking (addresses, lower-case).
    remote_content_senders = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"mail preferences of {self.user_id}"


# ---------------------------------------------------------------- organising (apps.mail.organise, snooze)
class OrganiseSettings(models.Model):
    """How one account files messages away. Created on first use with the defaults below."""

    account = models.OneToOneField(MailAccount, on_delete=models.CASCADE, related_name="organise_settings")
    archive_by_year = models.BooleanField(
        _("one archive sub-folder per year"),
        default=False,
        help_text=_("Archived messages go to Archive/2026, Archive/2027… (created when needed)."),
    )

    def __str__(self) -> str:
        return f"organise settings of account {self.account_id}"


class SnoozeState(models.TextChoices):
    SNOOZED = "snoozed", _("Snoozed")
    WOKEN = "woken", _("Back in the Inbox")


class Snooze(models.Model):
    """A message put away in the server's "Snoozed" folder until `wake_at`.

    The message is found again by its Message-ID header (UIDs change with every move), so a
    wake retried after a crash never moves it twice; `uid` is its UID in `folder` when snoozed,
    used for messages without a Message-ID.
    """

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="snoozes")
    message_id_header = models.CharField(max_length=500, blank=True)
    folder = models.ForeignKey(Folder, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    uid = models.BigIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=1000, blank=True)  # what the "Snoozed" view shows
    sender = models.CharField(max_length=320, blank=True)
    wake_at = models.DateTimeField(_("back at"))
    flag_on_wake = models.BooleanField(default=False)
    state = models.CharField(max_length=8, choices=SnoozeState.choices, default=SnoozeState.SNOOZED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=("state", "wake_at"), name="mail_snooze_due")]

    def __str__(self) -> str:
        return f"{self.subject or self.message_id_header} until {self.wake_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- composing and sending
# (apps.mail.compose, drafts, outbox, recipients)
class Identity(models.Model):
    """One way to sign a message from an account: From name and address, Reply-To, signature."""

    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="identities")
    name = models.CharField(_("name"), max_length=150, blank=True)
    email_address = models.EmailField(_("email address"))
    reply_to = models.CharField(_("reply to"), max_length=500, blank=True)
    signature = models.TextField(_("signature"), blank=True, help_text=_('Added under "-- " at the end.'))
    is_default = models.BooleanField(_("default for this account"), default=False)

    class Meta:
        ordering = ("account", "-is_default", "email_address", "pk")
        verbose_name = _("identity")
        verbose_name_plural = _("identities")

    def __str__(self) -> str:
        return f"{self.name} <{self.email_address}>" if self.name else self.email_address


class Draft(models.Model):
    """A message being written. The server's Drafts folder holds a copy (`server_uid`) so any
    device can reopen it; this row is what the composer edits. `message_id` is fixed when the
    draft is created: every saved version and the sent message carry it (a retried send is found
    by it, never sent twice)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_drafts")
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="drafts")
    identity = models.ForeignKey(Identity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    to = models.TextField(blank=True)
    cc = models.TextField(blank=True)
    bcc = models.TextField(blank=True)
    subject = models.CharField(max_length=1000, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    is_html = models.BooleanField(default=False)
    request_receipt = models.BooleanField(default=False)
    message_id = models.CharField(max_length=500)
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    kind = models.CharField(max_length=20, blank=True)  # "", reply, reply_all, forward, forward_attachment
    source = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    forwarded_raw = models.BinaryField(null=True, blank=True)  # the original for forward_attachment
    server_uid = models.BigIntegerField(null=True, blank=True)  # this draft's copy in the Drafts folder
    server_folder = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-updated_at",)

    def __str__(self) -> str:
        return self.subject or f"draft {self.pk}"


class DraftAttachment(models.Model):
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    data = models.BinaryField()

    class Meta:
        ordering = ("pk",)

    def __str__(self) -> str:
        return self.filename


class OutboxState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Not sent")
    CANCELLED = "cancelled", _("Cancelled")


class Outbox(models.Model):
    """A message held before sending (undo delay or a chosen time). queued → sending → sent/failed;
    queued → cancelled when the person takes it back. `raw` is what goes out, built when queued."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_outbox")
    account = models.ForeignKey(MailAccount, on_delete=models.CASCADE, related_name="outbox")
    draft = models.ForeignKey(Draft, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox")
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.QUEUED)
    send_at = models.DateTimeField()
    scheduled = models.BooleanField(default=False)  # a chosen time (listed in "Scheduled"), not the undo delay
    raw = models.BinaryField()
    sender = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    message_id = models.CharField(max_length=500)
    subject = models.CharField(max_length=1000, blank=True)
    error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("send_at",)
        indexes = [models.Index(fields=("state", "send_at"), name="mail_outbox_due")]

    def __str__(self) -> str:
        return f"{self.subject} ({self.state})"


class CollectedAddress(models.Model):
    """An address the person wrote to or received from, ranked by use for autocomplete."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)  # lower-case
    name = models.CharField(max_length=300, blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    received_count = models.PositiveIntegerField(default=0)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=("owner", "address"), name="mail_collected_unique_address")]

    def __str__(self) -> str:
        return self.address


class ComposePreferences(models.Model):
    """How one person sends mail: the undo delay and which etiquette checks run before sending."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="compose_preferences")
    undo_seconds = models.PositiveIntegerField(
        _("seconds to undo a send"), default=10, validators=[MaxValueValidator(120)]
    )
    html_default = models.BooleanField(_("write formatted (HTML) messages by default"), default=False)
    nudge_empty_subject = models.BooleanField(_("warn when the subject is empty"), default=True)
    nudge_capitals = models.BooleanField(_("warn when the subject is in capitals"), default=True)
    nudge_forward_comment = models.BooleanField(_("warn when forwarding without a comment"), default=True)
    nudge_many_recipients = models.BooleanField(_("suggest Bcc for more than 10 visible recipients"), default=True)
    nudge_missing_attachment = models.BooleanField(_("warn when an attachment is mentioned but missing"), default=True)
    nudge_large_attachment = models.BooleanField(_("suggest a share link for large attachments"), default=True)

    def __str__(self) -> str:
        return f"compose preferences of {self.user_id}"
