"""Writes for mail accounts. Every caller (admin, views, commands, tests) goes through these."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

from apps.core.crypto import decrypt_secret, encrypt_secret
from apps.mail.connections import imap_call
from apps.mail.events import publish_folders, publish_messages
from apps.mail.imap import ImapConnection, ImapError, ImapSettings, imap_check_login
from apps.mail.models import Folder, MailAccount, MailPreferences, Message, SyncStatus, Thread
from apps.mail.selectors import preferences_cache_key

if TYPE_CHECKING:
    from apps.accounts.models import User


@transaction.atomic
def mail_account_create(
    *,
    owner: User,
    email_address: str,
    imap_password: str,
    imap_host: str = "",
    imap_port: int | None = None,
    imap_security: str | None = None,
    imap_username: str = "",
    smtp_host: str = "",
    smtp_port: int | None = None,
    smtp_security: str | None = None,
    smtp_username: str = "",
    smtp_password: str = "",
    sieve_port: int | None = None,
    label: str = "",
    display_name: str = "",
    server_files_sent: bool = False,
) -> MailAccount:
    """Creates an account; what is not given comes from settings.RUCHE_MAIL_DEFAULTS.

    The username defaults to the address, the SMTP server to the IMAP server, and an empty SMTP
    password means "the IMAP password".
    """
    imap_host = imap_host or _default_str("imap_host")
    account = MailAccount(
        owner=owner,
        email_address=email_address,
        label=label,
        display_name=display_name or owner.shown_name,
        imap_host=imap_host,
        imap_port=imap_port or _default_int("imap_port"),
        imap_security=imap_security or _default_str("imap_security"),
        imap_username=imap_username or email_address,
        imap_password=encrypt_secret(imap_password),
        smtp_host=smtp_host or _default_str("smtp_host") or imap_host,
        smtp_port=smtp_port or _default_int("smtp_port"),
        smtp_security=smtp_security or _default_str("smtp_security"),
        smtp_username=smtp_username,
        smtp_password=encrypt_secret(smtp_password),
        sieve_port=sieve_port if sieve_port is not None else _default_int("sieve_port"),
        server_files_sent=server_files_sent,
    )
    account.full_clean()
    account.save()
    return account


def _default_str(name: str) -> str:
    return str(settings.RUCHE_MAIL_DEFAULTS[name])


def _default_int(name: str) -> int:
    value = settings.RUCHE_MAIL_DEFAULTS[name]
    assert isinstance(value, int)
    return value


@transaction.atomic
def mail_account_update_servers(
    *,
    account: MailAccount,
    imap_host: str,
    imap_port: int,
    imap_security: str,
    smtp_host: str,
    smtp_port: int,
    smtp_security: str,
    sieve_port: int | None,
) -> MailAccount:
    account.imap_host = imap_host
    account.imap_port = imap_port
    account.imap_security = imap_security
    account.smtp_host = smtp_host
    account.smtp_port = smtp_port
    account.smtp_security = smtp_security
    account.sieve_port = sieve_port
    account.full_clean()
    account.save()
    return account


def mail_account_set_password(
    *, account: MailAccount, imap_password: str | None = None, smtp_password: str | None = None
) -> None:
    """Stores new passwords, encrypted. None leaves one unchanged; "" clears the SMTP one."""
    fields = ["updated_at"]
    if imap_password is not None:
        account.imap_password = encrypt_secret(imap_password)
        account.sync_paused = False  # a new password may work: sweeps sync the account again
        fields += ["imap_password", "sync_paused"]
    if smtp_password is not None:
        account.smtp_password = encrypt_secret(smtp_password)
        fields.append("smtp_password")
    if len(fields) > 1:
        account.save(update_fields=fields)


def mail_account_check_connection(*, account: MailAccount) -> None:
    """Logs in over IMAP and records the outcome on the account; raises ImapError on failure."""
    try:
        imap_check_login(ImapSettings.for_account(account))
    except ImapError as exc:
        account.sync_status = SyncStatus.ERROR
        account.last_error = str(exc)
        account.save(update_fields=["sync_status", "last_error", "updated_at"])
        raise
    account.sync_status = SyncStatus.OK
    account.last_error = ""
    account.save(update_fields=["sync_status", "last_error", "updated_at"])


@transaction.atomic
def mail_account_update_settings(
    *,
    account: MailAccount,
    label: str,
    display_name: str,
    imap_host: str,
    imap_port: int,
    imap_security: str,
    imap_username: str,
    smtp_host: str,
    smtp_port: int,
    smtp_security: str,
    smtp_username: str,
    sieve_port: int | None,
) -> MailAccount:
    """Everything the account page edits except passwords (see mail_account_set_password)."""
    account.label = label
    account.display_name = display_name
    account.imap_username = imap_username
    account.smtp_username = smtp_username
    return mail_account_update_servers(
        account=account,
        imap_host=imap_host,
        imap_port=imap_port,
        imap_security=imap_security,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        sieve_port=sieve_port,
    )


def mail_account_record_check(*, account: MailAccount, error: str = "") -> None:
    """Records the outcome of a connection test made elsewhere (apps.mail.diagnostics)."""
    account.sync_status = SyncStatus.ERROR if error else SyncStatus.OK
    account.last_error = error
    fields = ["sync_status", "last_error", "updated_at"]
    if not error and account.sync_paused:
        account.sync_paused = False  # the login works again: the sync engine may resume
        fields.append("sync_paused")
    account.save(update_fields=fields)


def mail_account_schedule_sync(*, account: MailAccount) -> bool:
    """Enqueues a sync of the account once the transaction commits.

    A broker that is down must not fail the request that created the account: `robust` logs
    the error instead, and the periodic sweep syncs the account later. Returns True (the
    callers show "the first sync has started").
    """
    from apps.mail.tasks import sync_account  # late: tasks import the sync engine, which imports this

    account_id = account.pk
    transaction.on_commit(lambda: sync_account.delay(account_id), robust=True)
    return True


@transaction.atomic
def mail_login_user_provision(*, address: str, password: str, imap: ImapSettings) -> User:
    """The Ruche user of someone who just logged in with their IMAP credentials.

    First login: creates the user (username and email = the address, no local password) and
    its mail account with the same credentials. Later logins: updates the stored password when
    it changed on the mail server.
    """
    from allauth.account.models import EmailAddress

    from apps.accounts.models import User

    user = User.objects.filter(username__iexact=address).first()
    if user is None:
        user = User.objects.filter(email__iexact=address).first()
    if user is None:
        user = User(username=address, email=address)
        user.set_unusable_password()
        user.save()
        # The IMAP server just proved the address belongs to this person.
        EmailAddress.objects.create(user=user, email=address, primary=True, verified=True)
    account = MailAccount.objects.filter(owner=user, email_address__iexact=address).first()
    if account is None:
        account = mail_account_create(
            owner=user,
            email_address=address,
            imap_password=password,
            imap_host=imap.host,
            imap_port=imap.port,
            imap_security=imap.security,
            imap_username=imap.username,
        )
        mail_account_record_check(account=account)
        mail_account_schedule_sync(account=account)
    elif decrypt_secret(account.imap_password) != password:
        mail_account_set_password(account=account, imap_password=password)
        if account.sync_status == SyncStatus.ERROR:
            mail_account_record_check(account=account)
            mail_account_schedule_sync(account=account)
    return user


# ---------------------------------------------------------------- reading
def message_set_seen(*, message: Message, seen: bool) -> None:
    """Marks a message read or unread: on the IMAP server first, then in the index."""
    folder_name = message.folder.name
    flag = ("\\Seen",)

    def store(imap: ImapConnection) -> None:
        if seen:
            imap.add_flags(folder_name, [message.uid], flag)
        else:
            imap.remove_flags(folder_name, [message.uid], flag)

    imap_call(message.account, store)
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, seen=not seen).update(seen=seen)
        message.seen = seen
        if not changed:
            return
        folder = Folder.objects.select_for_update().get(pk=message.folder_id)
        folder.unread = Message.objects.filter(folder_id=folder.pk, seen=False).count()
        folder.save(update_fields=["unread"])
        if message.thread_id:
            Thread.objects.filter(pk=message.thread_id).update(
                unread_count=Message.objects.filter(thread_id=message.thread_id, seen=False).count()
            )
        owner_id = message.account.owner_id
        publish_messages(owner_id=owner_id, account_id=message.account_id, folder_id=folder.pk, changed=[message.pk])
        publish_folders(
            owner_id=owner_id,
            account_id=message.account_id,
            folders=[{"id": folder.pk, "unread": folder.unread, "total": folder.total}],
        )


def mail_preferences_trust_sender(*, user: User, address: str) -> MailPreferences:
    """Remote content of this sender's messages loads without asking from now on."""
    preferences, _created = MailPreferences.objects.get_or_create(user=user)
    normalised = address.strip().lower()
    if normalised and normalised not in preferences.remote_content_senders:
        preferences.remote_content_senders = [*preferences.remote_content_senders, normalised]
        preferences.save(update_fields=["remote_content_senders"])
        _preferences_changed(user.pk)
    return preferences


def _preferences_changed(user_id: int) -> None:
    """The cached copy (apps.mail.selectors.mail_preferences_for_user) goes now, and again once the
    change is committed: a page that read the old row meanwhile may have cached it."""

    def forget() -> None:
        with suppress(RedisError):
            cache.delete(preferences_cache_key(user_id))

    forget()
    transaction.on_commit(forget)


@transaction.atomic
def mail_account_delete(*, account: MailAccount) -> None:
    """Forgets the account and its index in Ruche; the mail on the server is not touched."""
    account.delete()


def mail_preferences_update(
    *, user: User, conversation_view: bool | None = None, mark_read_on_open: bool | None = None
) -> MailPreferences:
    preferences, _created = MailPreferences.objects.get_or_create(user=user)
    fields = []
    if conversation_view is not None:
        preferences.conversation_view = conversation_view
        fields.append("conversation_view")
    if mark_read_on_open is not None:
        preferences.mark_read_on_open = mark_read_on_open
        fields.append("mark_read_on_open")
    if fields:
        preferences.save(update_fields=fields)
        _preferences_changed(user.pk)
    return preferences
