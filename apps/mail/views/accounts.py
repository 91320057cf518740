"""Mail account pages: the list, adding in two steps, settings, connection test, removal.

Adding works like Thunderbird: step 1 takes the address and password, autodiscovery fills in
step 2, which stays fully editable. The password of step 1 waits in the session, encrypted,
and is never sent back to the browser. The account is created only once an IMAP login works.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from apps.core.crypto import decrypt_secret, encrypt_secret
from apps.core.types import AuthedRequest
from apps.mail.access import mail_account_for_user
from apps.mail.autodiscover import DEFAULTS, NOTHING, Discovery, autodiscover, organisation_domains
from apps.mail.diagnostics import CheckOutcome, check_imap, check_sieve, check_smtp
from apps.mail.forms import AccountAddressForm, AccountAddSettingsForm, AccountEditForm, ConfirmForm
from apps.mail.imap import ImapSettings
from apps.mail.models import MailAccount, SyncStatus
from apps.mail.selectors import mail_accounts_for_user
from apps.mail.services import (
    mail_account_create,
    mail_account_delete,
    mail_account_record_check,
    mail_account_schedule_sync,
    mail_account_set_password,
    mail_account_update_settings,
)
from apps.mail.smtp import SmtpSettings

PENDING_KEY = "mail_account_add"
PENDING_MAX_AGE = 30 * 60

_SETTINGS_FIELDS = (
    "label",
    "display_name",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_username",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "sieve_port",
)


def _settings_of(account: MailAccount) -> dict[str, Any]:
    return {name: getattr(account, name) for name in _SETTINGS_FIELDS}


# ---------------------------------------------------------------- list
@login_required
def account_list(request: AuthedRequest) -> HttpResponse:
    rows = [{"account": a, **account_state(a)} for a in mail_accounts_for_user(user=request.user)]
    return render(request, "mail/accounts/list.html", {"rows": rows})


def account_state(account: MailAccount) -> dict[str, Any]:
    """The status of an account in words, and whether it waits for its password."""
    if account.sync_paused:  # the sync engine stopped after the server refused the stored password
        return {"badge": "fail", "words": _("Paused: wrong password — enter it again"), "needs_password": True}
    if account.sync_status == SyncStatus.ERROR:
        return {"badge": "fail", "words": _("Error"), "needs_password": False}
    if account.sync_status == SyncStatus.OK:
        return {"badge": "ok", "words": _("Working"), "needs_password": False}
    return {"badge": "off", "words": _("Not checked yet"), "needs_password": False}


# ---------------------------------------------------------------- add, step 1 then step 2
@login_required
@require_http_methods(["GET", "POST"])
def account_add(request: AuthedRequest) -> HttpResponse:
    pending = _pending(request)
    if request.method == "POST" and request.POST.get("step") == "settings":
        if pending is None:
            messages.error(request, _("That took too long: please start again."))
            return redirect("mail:account_add")
        return _add_settings(request, pending)
    if request.method == "POST":
        return _add_address(request)
    if request.GET.get("step") == "settings" and pending is not None:
        form = AccountAddSettingsForm(initial=pending["initial"])
        return _render_settings(request, form, pending)
    request.session.pop(PENDING_KEY, None)
    return render(request, "mail/accounts/add_address.html", {"form": AccountAddressForm()})


def _add_address(request: AuthedRequest) -> HttpResponse:
    form = AccountAddressForm(request.POST)
    if form.is_valid():
        address = form.cleaned_data["email_address"].strip()
        if mail_accounts_for_user(user=request.user).filter(email_address__iexact=address).exists():
            form.add_error("email_address", _("You already added this address."))
        else:
            manual = "manual" in request.POST
            discovery = _manual_start(address) if manual else autodiscover(address)
            request.session[PENDING_KEY] = {
                "address": address,
                "password": encrypt_secret(form.cleaned_data["password"]),
                "at": time.time(),
                "source": "manual" if manual else discovery.source,
                "source_label": _("Manual setup.") if manual else discovery.source_label,
                "notes": list(discovery.notes),
                "initial": _initial_from(discovery, address=address, user_name=request.user.shown_name),
            }
            return redirect(f"{request.path}?step=settings")
    return render(request, "mail/accounts/add_address.html", {"form": form}, status=200)


def _manual_start(address: str) -> Discovery:
    """Manual setup still starts from the organisation's server when the address is theirs."""
    domain = address.rpartition("@")[2].lower()
    if domain in organisation_domains():
        found = autodiscover(address, budget=0.0)
        if found.source == DEFAULTS:
            return found
    return Discovery(source=NOTHING, username=address)


def _initial_from(discovery: Discovery, *, address: str, user_name: str) -> dict[str, Any]:
    imap, smtp = discovery.imap, discovery.smtp
    return {
        "label": "",
        "display_name": user_name,
        "imap_host": imap.host if imap else "",
        "imap_port": imap.port if imap else 993,
        "imap_security": imap.security if imap else "tls",
        "imap_username": discovery.username or address,
        "smtp_host": smtp.host if smtp else (imap.host if imap else ""),
        "smtp_port": smtp.port if smtp else 587,
        "smtp_security": smtp.security if smtp else "starttls",
        "smtp_username": discovery.smtp_username
        if discovery.smtp_username and discovery.smtp_username != discovery.username
        else "",
        "sieve_port": discovery.sieve_port,
    }


def _add_settings(request: AuthedRequest, pending: dict[str, Any]) -> HttpResponse:
    form = AccountAddSettingsForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, form, pending)
    data = form.cleaned_data
    imap_password = data["imap_password"] or decrypt_secret(pending["password"])
    imap_outcome = check_imap(
        ImapSettings(
            host=data["imap_host"],
            port=data["imap_port"],
            security=data["imap_security"],
            username=data["imap_username"],
            password=imap_password,
        )
    )
    if not imap_outcome.ok:
        return _render_settings(request, form, pending, outcomes=[imap_outcome])
    outcomes = [imap_outcome, *_secondary_checks(data, imap_password)]
    with transaction.atomic():
        account = mail_account_create(
            owner=request.user,
            email_address=pending["address"],
            imap_password=imap_password,
            smtp_password=data["smtp_password"],
            **{name: data[name] for name in _SETTINGS_FIELDS},
        )
        if data["sieve_port"] is None and account.sieve_port is not None:
            # The service reads "no port" as "the default port"; an emptied field means no filters.
            mail_account_update_settings(account=account, **{**_settings_of(account), "sieve_port": None})
        mail_account_record_check(account=account)
        syncing = mail_account_schedule_sync(account=account)
    request.session.pop(PENDING_KEY, None)
    added = _("%(address)s is added.") % {"address": account.email_address}
    messages.success(request, f"{added} {_('Its mail is being fetched.')}" if syncing else added)
    _warn_about(request, outcomes)
    return redirect("mail:accounts")


def _secondary_checks(data: dict[str, Any], imap_password: str) -> list[CheckOutcome]:
    """SMTP and ManageSieve: failures are warnings, the account is saved all the same."""
    outcomes = []
    if data["smtp_host"]:
        outcomes.append(
            check_smtp(
                SmtpSettings(
                    host=data["smtp_host"],
                    port=data["smtp_port"],
                    security=data["smtp_security"],
                    username=data["smtp_username"] or data["imap_username"],
                    password=data["smtp_password"] or imap_password,
                )
            )
        )
    if data["sieve_port"]:
        outcomes.append(check_sieve(data["imap_host"], data["sieve_port"]))
    return outcomes


def _warn_about(request: AuthedRequest, outcomes: list[CheckOutcome]) -> None:
    for outcome in outcomes:
        if not outcome.ok:
            messages.warning(
                request,
                _("%(service)s does not work yet: %(problem)s")
                % {"service": outcome.service_label, "problem": outcome.message},
            )


def _render_settings(
    request: AuthedRequest,
    form: AccountAddSettingsForm,
    pending: dict[str, Any],
    *,
    outcomes: list[CheckOutcome] | None = None,
) -> HttpResponse:
    context = {
        "form": form,
        "address": pending["address"],
        "source": pending["source"],
        "source_label": pending["source_label"],
        "notes": pending["notes"],
        "outcomes": outcomes or [],
    }
    return render(request, "mail/accounts/add_settings.html", context)


def _pending(request: AuthedRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_MAX_AGE:
        return None
    return pending


# ---------------------------------------------------------------- settings of one account
@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    initial = _settings_of(account)
    has_smtp_password = account.has_smtp_password
    if request.method != "POST":
        form = AccountEditForm(initial=initial, has_smtp_password=has_smtp_password)
        return _render_edit(request, account, form)
    form = AccountEditForm(request.POST, initial=initial, has_smtp_password=has_smtp_password)
    if not form.is_valid():
        return _render_edit(request, account, form)
    data = form.cleaned_data
    imap_password = data["imap_password"] or decrypt_secret(account.imap_password)
    imap_changed = bool(data["imap_password"]) or any(
        data[n] != getattr(account, n) for n in ("imap_host", "imap_port", "imap_security", "imap_username")
    )
    smtp_changed = (
        bool(data["smtp_password"])
        or bool(data.get("smtp_same_password"))
        or (bool(data["imap_password"]) and not has_smtp_password)
        or any(data[n] != getattr(account, n) for n in ("smtp_host", "smtp_port", "smtp_security", "smtp_username"))
    )
    if imap_changed:
        outcome = check_imap(
            ImapSettings(
                host=data["imap_host"],
                port=data["imap_port"],
                security=data["imap_security"],
                username=data["imap_username"],
                password=imap_password,
            )
        )
        if not outcome.ok:
            return _render_edit(request, account, form, outcomes=[outcome])
    with transaction.atomic():
        mail_account_update_settings(account=account, **{name: data[name] for name in _SETTINGS_FIELDS})
        mail_account_set_password(
            account=account,
            imap_password=data["imap_password"] or None,
            smtp_password="" if data.get("smtp_same_password") else (data["smtp_password"] or None),
        )
        if imap_changed:
            # The login just worked: a paused account resumes.
            mail_account_record_check(account=account)
            mail_account_schedule_sync(account=account)
    messages.success(request, _("The settings of %(account)s are saved.") % {"account": account})
    if smtp_changed and data["smtp_host"]:
        smtp_password = data["smtp_password"] or (
            decrypt_secret(account.smtp_password) if account.has_smtp_password else imap_password
        )
        _warn_about(
            request,
            [
                check_smtp(
                    SmtpSettings(
                        host=data["smtp_host"],
                        port=data["smtp_port"],
                        security=data["smtp_security"],
                        username=data["smtp_username"] or data["imap_username"],
                        password=smtp_password,
                    )
                )
            ],
        )
    return redirect("mail:accounts")


def _render_edit(
    request: AuthedRequest, account: MailAccount, form: AccountEditForm, *, outcomes: list[CheckOutcome] | None = None
) -> HttpResponse:
    context = {"account": account, "form": form, "outcomes": outcomes or [], **account_state(account)}
    return render(request, "mail/accounts/edit.html", context)


# ---------------------------------------------------------------- connection test, removal
@login_required
@require_http_methods(["GET", "POST"])
def account_test(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    outcomes: list[CheckOutcome] = []
    if request.method == "POST" and ConfirmForm(request.POST).is_valid():
        outcomes = run_account_checks(account)
        was_working = account.sync_status == SyncStatus.OK
        mail_account_record_check(account=account, error="" if outcomes[0].ok else outcomes[0].message)
        if outcomes[0].ok and not was_working:
            mail_account_schedule_sync(account=account)  # it works again: catch up now
    return render(
        request,
        "mail/accounts/test.html",
        {"account": account, "outcomes": outcomes, "tested": bool(outcomes), **account_state(account)},
    )


def run_account_checks(account: MailAccount) -> list[CheckOutcome]:
    """IMAP first (the one that must work), then SMTP and ManageSieve when configured."""
    outcomes = [check_imap(ImapSettings.for_account(account))]
    if account.smtp_host:
        outcomes.append(check_smtp(SmtpSettings.for_account(account)))
    if account.sieve_port:
        outcomes.append(check_sieve(account.imap_host, account.sieve_port))
    return outcomes


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    if request.method == "POST" and ConfirmForm(request.POST).is_valid():
        name = str(account)
        mail_account_delete(account=account)
        messages.success(
            request, _("%(account)s is removed from Ruche. The mail on the server is untouched.") % {"account": name}
        )
        return redirect("mail:accounts")
    return render(request, "mail/accounts/delete.html", {"account": account})
