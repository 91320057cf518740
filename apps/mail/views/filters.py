"""Filter pages: the rules of an account, one rule's editor, the out-of-office reply, the raw script.

Everything is read from and written to the ManageSieve server at each request (apps.mail.filters):
the server is the truth, so another device's changes show at once.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.types import AuthedRequest
from apps.mail import filters
from apps.mail.access import mail_account_for_user, message_for_user
from apps.mail.models import Folder, MailAccount
from apps.mail.sieve import SieveError, SieveScriptError

FIELD_CHOICES = [
    ("from", gettext_lazy("From")),
    ("to", gettext_lazy("To")),
    ("cc", gettext_lazy("Cc")),
    ("subject", gettext_lazy("Subject")),
    ("header", gettext_lazy("Other header…")),
    ("size", gettext_lazy("Size")),
]
MATCH_CHOICES = [
    ("contains", gettext_lazy("contains")),
    ("is", gettext_lazy("is")),
    ("matches", gettext_lazy("matches (* and ? as wildcards)")),
    ("regex", gettext_lazy("matches the regular expression")),
    ("over", gettext_lazy("is larger than")),
    ("under", gettext_lazy("is smaller than")),
]
ACTION_CHOICES = [
    ("move", gettext_lazy("Move to folder")),
    ("copy", gettext_lazy("Copy to folder")),
    ("flag", gettext_lazy("Flag")),
    ("read", gettext_lazy("Mark as read")),
    ("forward", gettext_lazy("Forward to")),
    ("discard", gettext_lazy("Delete for good")),
    ("reject", gettext_lazy("Reject with a reason")),
]


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    enabled = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    match_all = forms.TypedChoiceField(
        label=gettext_lazy("Apply when"),
        choices=[("1", gettext_lazy("all conditions hold")), ("0", gettext_lazy("any condition holds"))],
        coerce=lambda value: value == "1",
        initial="1",
    )
    stop = forms.BooleanField(label=gettext_lazy("Then stop: later rules are not applied"), required=False)


class ConditionForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=FIELD_CHOICES)
    header = forms.CharField(label=gettext_lazy("Header name"), max_length=100, required=False)
    negate = forms.BooleanField(label=gettext_lazy("not"), required=False)
    match = forms.ChoiceField(label=gettext_lazy("Comparison"), choices=MATCH_CHOICES)
    value = forms.CharField(label=gettext_lazy("Value"), max_length=filters.MAX_VALUE, required=False, strip=False)


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Action"), choices=[("", "—"), *ACTION_CHOICES], required=False)
    argument = forms.CharField(label=gettext_lazy("Folder, address or reason"), max_length=500, required=False)
    keep_copy = forms.BooleanField(label=gettext_lazy("keep a copy here"), required=False)


ConditionFormSet = forms.formset_factory(ConditionForm, extra=0, max_num=20, absolute_max=20)
ActionFormSet = forms.formset_factory(ActionForm, extra=0, max_num=10, absolute_max=10)


class VacationForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Send an out-of-office reply"), required=False)
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200, required=False)
    text = forms.CharField(
        label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 6}), max_length=10_000, required=False
    )
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label=gettext_lazy("Until (included)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    days = forms.IntegerField(
        label=gettext_lazy("Days before answering the same sender again"), min_value=1, max_value=365, initial=7
    )
    addresses = forms.CharField(
        label=gettext_lazy("My addresses"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy("Only mail sent to one of these addresses is answered (one per line)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ScriptForm(forms.Form):
    script = forms.CharField(
        label=gettext_lazy("Sieve script"),
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false"}),
        required=False,
        strip=False,
    )


# ---------------------------------------------------------------- helpers
def _load(account: MailAccount) -> tuple[filters.FilterState | None, str]:
    try:
        return filters.filters_load(account=account), ""
    except SieveError as exc:
        return None, str(exc)


def _folder_names(account: MailAccount) -> list[str]:
    return list(Folder.objects.filter(account=account, selectable=True).order_by("name").values_list("name", flat=True))


def _page(account: MailAccount) -> str:
    return reverse("mail:filters", args=[account.pk])


def _vacation_initial(vacation: filters.Vacation) -> dict[str, Any]:
    return {
        "enabled": vacation.enabled,
        "subject": vacation.subject,
        "text": vacation.text,
        "start": vacation.start,
        "end": vacation.end,
        "days": vacation.days,
        "addresses": "\n".join(vacation.addresses),
    }


def _rule_summary(rule: filters.Rule) -> dict[str, Any]:
    fields = dict(FIELD_CHOICES)
    matches = dict(MATCH_CHOICES)
    actions = dict(ACTION_CHOICES)
    conditions = [
        " ".join(
            part
            for part in (
                str(c.header if c.field == "header" else fields.get(c.field, c.field)),
                _("not") if c.negate else "",
                str(matches.get(c.match, c.match)),
                f"“{c.value}”",
            )
            if part
        )
        for c in rule.conditions
    ]
    return {
        "rule": rule,
        "conditions": conditions,
        "actions": [f"{actions.get(a.kind, a.kind)} {a.argument}".strip() for a in rule.actions],
    }


# ---------------------------------------------------------------- pages
@never_cache
@login_required
def filters_page(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id)
    state, error = _load(account) if account.sieve_port else (None, "")
    context: dict[str, Any] = {"account": account, "state": state, "error": error}
    if state is not None:
        context["rules"] = [_rule_summary(rule) for rule in state.filters.rules]
        vacation = state.filters.vacation
        if not vacation.enabled and not vacation.text:
            vacation = filters.vacation_default(account=account)
        context["vacation_form"] = VacationForm(initial=_vacation_initial(vacation), prefix="vacation")
        context["has_vacation"] = "vacation" in state.extensions
    return render(request, "mail/filters.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def filter_rule_edit(request: AuthedRequest, account_id: int) -> HttpResponse:
    """A new rule (optionally prefilled from `?message=`) or rule `?index=` of the account."""
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    state, error = _load(account)
    if state is None:
        return render(request, "mail/filters.html", {"account": account, "state": None, "error": error})
    index = _index(request.GET.get("index"), len(state.filters.rules))
    if request.method == "POST":
        return _rule_post(request, account, state, index)
    if index is not None:
        rule = state.filters.rules[index]
    elif request.GET.get("message"):
        message = message_for_user(user=request.user, message_id=_int(request.GET["message"]))
        rule = filters.rule_from_message(message) if message.account_id == account.pk else filters.Rule()
    else:
        rule = filters.Rule(conditions=[filters.Condition()], actions=[filters.Action()])
    form = RuleForm(
        initial={
            "name": rule.name,
            "enabled": rule.enabled,
            "match_all": "1" if rule.match_all else "0",
            "stop": rule.stop,
        }
    )
    conditions = ConditionFormSet(initial=[vars(c) for c in rule.conditions] + [{}], prefix="c")
    actions = ActionFormSet(initial=[vars(a) for a in rule.actions] + [{}], prefix="a")
    return _rule_page(
        request, account=account, state=state, index=index, form=form, conditions=conditions, actions=actions
    )


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


def _index(value: str | None, count: int) -> int | None:
    if value is None or not value.isdigit() or int(value) >= count:
        return None
    return int(value)


def _rule_page(
    request: AuthedRequest,
    *,
    account: MailAccount,
    state: filters.FilterState,
    index: int | None,
    form: RuleForm,
    conditions: Any,
    actions: Any,
    error: str = "",
) -> HttpResponse:
    return render(
        request,
        "mail/filters_rule.html",
        {
            "account": account,
            "state": state,
            "index": index,
            "form": form,
            "conditions": conditions,
            "actions": actions,
            "folders": _folder_names(account),
            "error": error,
        },
        status=400 if error or form.errors else 200,
    )


def _rule_post(
    request: AuthedRequest, account: MailAccount, state: filters.FilterState, index: int | None
) -> HttpResponse:
    form = RuleForm(request.POST)
    conditions = ConditionFormSet(request.POST, prefix="c")
    actions = ActionFormSet(request.POST, prefix="a")
    if not (form.is_valid() and conditions.is_valid() and actions.is_valid()):
        return _rule_page(
            request,
            account=account,
            state=state,
            index=index,
            form=form,
            conditions=conditions,
            actions=actions,
            error=_("Check the fields marked below."),
        )
    rule = filters.Rule(
        name=form.cleaned_data["name"].strip(),
        enabled=form.cleaned_data["enabled"],
        match_all=form.cleaned_data["match_all"],
        stop=form.cleaned_data["stop"],
        conditions=[
            filters.Condition(
                field=data["field"],
                header=data["header"].strip(),
                negate=data["negate"],
                match=data["match"],
                value=data["value"],
            )
            for data in conditions.cleaned_data
            if data and (data.get("value") or data.get("field") == "size")
        ],
        actions=[
            filters.Action(kind=data["kind"], argument=data["argument"].strip(), keep_copy=data["keep_copy"])
            for data in actions.cleaned_data
            if data and data.get("kind")
        ],
    )
    try:
        filters.filters_rule_save(account=account, rule=rule, index=index)
    except (filters.FilterError, SieveError) as exc:
        return _rule_page(
            request,
            account=account,
            state=state,
            index=index,
            form=form,
            conditions=conditions,
            actions=actions,
            error=str(exc),
        )
    messages.success(request, _("The filter is saved on the server."))
    return redirect(_page(account))


@require_POST
@login_required
def filter_rule_delete(request: AuthedRequest, account_id: int, index: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    try:
        filters.filters_rule_delete(account=account, index=index)
        messages.success(request, _("The filter is deleted."))
    except (filters.FilterError, SieveError) as exc:
        messages.error(request, str(exc))
    return redirect(_page(account))


@require_POST
@login_required
def filter_rule_move(request: AuthedRequest, account_id: int, index: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    try:
        filters.filters_rule_move(
            account=account, index=index, offset=-1 if request.POST.get("direction") == "up" else 1
        )
    except (filters.FilterError, SieveError) as exc:
        messages.error(request, str(exc))
    return redirect(_page(account))


@require_POST
@login_required
def filters_vacation(request: AuthedRequest, account_id: int) -> HttpResponse:
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    form = VacationForm(request.POST, prefix="vacation")
    if not form.is_valid():
        messages.error(request, _("The out-of-office reply was not saved: check its fields."))
        return redirect(_page(account) + "#vacation")
    data = form.cleaned_data
    vacation = filters.Vacation(
        enabled=data["enabled"],
        subject=data["subject"].strip(),
        text=data["text"],
        start=data["start"],
        end=data["end"],
        days=data["days"] or 7,
        addresses=[line.strip() for line in data["addresses"].replace(",", "\n").splitlines() if line.strip()],
    )
    try:
        filters.filters_vacation_save(account=account, vacation=vacation)
        messages.success(
            request, _("The out-of-office reply is on.") if vacation.enabled else _("The out-of-office reply is off.")
        )
    except (filters.FilterError, SieveError) as exc:
        messages.error(request, str(exc))
    return redirect(_page(account) + "#vacation")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def filters_script(request: AuthedRequest, account_id: int) -> HttpResponse:
    """The script itself, for experts. The server compiles it; its errors are shown as it words them."""
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    state, error = _load(account)
    if state is None:
        return render(request, "mail/filters.html", {"account": account, "state": None, "error": error})
    if request.method == "POST":
        form = ScriptForm(request.POST)
        if form.is_valid():
            try:
                filters.filters_save_script(account=account, name=state.script_name, script=form.cleaned_data["script"])
            except SieveScriptError as exc:
                error = _("The server refused the script:") + " " + exc.text
            except SieveError as exc:
                error = str(exc)
            else:
                messages.success(request, _("The script is saved and active."))
                return redirect(_page(account))
    else:
        form = ScriptForm(initial={"script": state.script})
    return render(
        request,
        "mail/filters_script.html",
        {"account": account, "state": state, "form": form, "error": error, "extensions": sorted(state.extensions)},
        status=400 if error else 200,
    )


@require_POST
@login_required
def filters_replace(request: AuthedRequest, account_id: int) -> HttpResponse:
    """Replaces a script with custom parts by Ruche's own (the old text stays on the server, inactive)."""
    account = mail_account_for_user(user=request.user, account_id=account_id, write=True)
    try:
        state = filters.filters_load(account=account)
        filters.filters_save(account=account, filters=state.filters, replace_custom=True)
        messages.success(
            request,
            _("Ruche now manages the filters. The previous script is kept on the server as “%(name)s”.")
            % {"name": filters.BACKUP_NAME},
        )
    except (filters.FilterError, SieveError) as exc:
        messages.error(request, str(exc))
    return redirect(_page(account))


@login_required
def message_filter_create(request: AuthedRequest, message_id: int) -> HttpResponse:
    """ "Create a filter from this message": the rule editor, prefilled."""
    message = message_for_user(user=request.user, message_id=message_id)
    return redirect(reverse("mail:filter_rule", args=[message.account_id]) + f"?message={message.pk}")
