"""Mail filters and the out-of-office reply, kept as a Sieve script on the server.

The server is the truth: the rules live IN the script Ruche writes (one `# ruche-rules:` JSON
comment line at its top), so another device, or Ruche after a reinstall, reads the same rules
back. The compiler builds Sieve only from quoted strings it escapes itself (`sieve_quote`):
user text never becomes code.

A script is "ours" when compiling the rules it carries gives back exactly its text. Anything
else (a script written elsewhere, or ours edited by hand) has *custom parts*: the rules editor
then shows what it can but becomes read-only, and only the raw script editor changes it, so no
expert's work is overwritten by a form. Saving rules again from the editor is possible once the
person chooses to replace the script (`replace_custom=True`), which keeps the old text under
another script name on the server.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail.sieve import SieveConnection, SieveError, SieveSettings

if TYPE_CHECKING:
    from apps.mail.models import MailAccount, Message

SCRIPT_NAME = "ruche"
BACKUP_NAME = "ruche-previous"
MARKER = "# ruche-rules: "
HEADER = "# Mail filters managed by Ruche. Edit them in Ruche: changes made here make the script read-only there."
FORMAT_VERSION = 1

FIELDS = ("from", "to", "cc", "subject", "header", "size")
MATCHES = ("contains", "is", "matches", "regex")
SIZE_MATCHES = ("over", "under")
ACTIONS = ("move", "copy", "flag", "read", "forward", "discard", "reject")
_HEADER_NAME = re.compile(r"[!-9;-~]{1,100}")  # RFC 5322 field name: printable ASCII but ':'
_SIZE = re.compile(r"(\d{1,9})\s*([KMG]?)", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s\"<>,;:()\\\[\]]{1,64}@[^@\s\"<>,;:()\\\[\]]{1,255}")
MAX_VALUE = 1000
MAX_TEXT = 10_000


class FilterError(Exception):
    """The rules cannot be compiled or saved. The message is safe to show."""


class FiltersReadOnlyError(FilterError):
    """The server's script has custom parts; the rules editor does not overwrite them."""


@dataclass
class Condition:
    field: str = "subject"  # FIELDS
    match: str = "contains"  # MATCHES, or SIZE_MATCHES for size
    value: str = ""
    header: str = ""  # the header's name, for field == "header"
    negate: bool = False


@dataclass
class Action:
    kind: str = "move"  # ACTIONS
    argument: str = ""  # a folder, an address or a reason
    keep_copy: bool = False  # forward: leave a copy in the mailbox too


@dataclass
class Rule:
    name: str = ""
    enabled: bool = True
    match_all: bool = True  # all of the conditions (allof), else any of them (anyof)
    conditions: list[Condition] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    stop: bool = False  # no later rule looks at a message this rule matched


@dataclass
class Vacation:
    enabled: bool = False
    subject: str = ""
    text: str = ""
    start: date | None = None
    end: date | None = None
    days: int = 7
    addresses: list[str] = field(default_factory=list)  # the person's own addresses, for "to me"


@dataclass
class FilterSet:
    rules: list[Rule] = field(default_factory=list)
    vacation: Vacation = field(default_factory=Vacation)


@dataclass(frozen=True)
class FilterState:
    """What the filters page shows: the rules, and the script they were read from."""

    filters: FilterSet
    script_name: str  # the script the rules belong to (the active one, or SCRIPT_NAME)
    script: str  # its text as the server has it ("" when there is none)
    custom: bool  # the script has parts the rules editor cannot represent
    extensions: frozenset[str]
    active: bool  # the script is the one the server runs


# ---------------------------------------------------------------- quoting
def sieve_quote(value: str) -> str:
    """A Sieve quoted string (RFC 5228 §2.4.2): backslash and double quote escaped, lines CRLF.

    Line breaks are legal inside quoted strings; they are normalised to CRLF so a lone CR or LF
    cannot confuse a parser. NUL is never legal and is dropped.
    """
    text = value.replace("\x00", "")
    text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _string_list(values: list[str]) -> str:
    return "[" + ", ".join(sieve_quote(value) for value in values) + "]"


def _one_line(value: str) -> str:
    """Header values and names are single lines: fold any line break into a space."""
    return re.sub(r"[\r\n]+", " ", value.replace("\x00", "")).strip()


# ---------------------------------------------------------------- validation
def filters_validate(filters: FilterSet, *, extensions: frozenset[str]) -> None:
    """Raises FilterError in plain words when a rule cannot be expressed on this server."""
    for number, rule in enumerate(filters.rules, start=1):
        label = rule.name or _("rule %(number)s") % {"number": number}
        if not rule.actions:
            raise FilterError(_("%(rule)s has no action.") % {"rule": label})
        for condition in rule.conditions:
            _validate_condition(condition, label=label, extensions=extensions)
        for action in rule.actions:
            _validate_action(action, label=label, extensions=extensions)
    vacation = filters.vacation
    if vacation.enabled:
        if "vacation" not in extensions:
            raise FilterError(_("This server cannot send out-of-office replies."))
        if not vacation.text.strip():
            raise FilterError(_("The out-of-office reply needs a text."))
        if (vacation.start or vacation.end) and "date" not in extensions:
            raise FilterError(_("This server cannot limit the out-of-office reply to dates."))
        if vacation.start and vacation.end and vacation.start > vacation.end:
            raise FilterError(_("The out-of-office reply ends before it starts."))
        if not 1 <= vacation.days <= 365:
            raise FilterError(_("Days between replies must be between 1 and 365."))
        for address in vacation.addresses:
            if not _ADDRESS.fullmatch(address):
                raise FilterError(_("%(address)s is not an email address.") % {"address": address})


def _validate_condition(condition: Condition, *, label: str, extensions: frozenset[str]) -> None:
    if condition.field not in FIELDS:
        raise FilterError(_("%(rule)s: unknown condition.") % {"rule": label})
    if condition.field == "size":
        if condition.match not in SIZE_MATCHES or not _SIZE.fullmatch(condition.value.strip()):
            raise FilterError(_("%(rule)s: a size is a number, optionally followed by K, M or G.") % {"rule": label})
        return
    if condition.match not in MATCHES:
        raise FilterError(_("%(rule)s: unknown comparison.") % {"rule": label})
    if condition.match == "regex" and "regex" not in extensions:
        raise FilterError(_("%(rule)s: this server does not support regular expressions.") % {"rule": label})
    if condition.field == "header" and not _HEADER_NAME.fullmatch(condition.header):
        raise FilterError(_("%(rule)s: %(name)r is not a header name.") % {"rule": label, "name": condition.header})
    if len(condition.value) > MAX_VALUE:
        raise FilterError(_("%(rule)s: a condition's text is too long.") % {"rule": label})


def _validate_action(action: Action, *, label: str, extensions: frozenset[str]) -> None:
    if action.kind not in ACTIONS:
        raise FilterError(_("%(rule)s: unknown action.") % {"rule": label})
    if action.kind in ("move", "copy"):
        if not action.argument.strip() or len(action.argument) > 500:
            raise FilterError(_("%(rule)s: choose a folder.") % {"rule": label})
        if "fileinto" not in extensions or (action.kind == "copy" and "copy" not in extensions):
            raise FilterError(_("%(rule)s: this server cannot file messages into folders.") % {"rule": label})
    if action.kind in ("flag", "read") and "imap4flags" not in extensions:
        raise FilterError(_("%(rule)s: this server cannot set flags.") % {"rule": label})
    if action.kind == "forward":
        if not _ADDRESS.fullmatch(action.argument.strip()):
            raise FilterError(_("%(rule)s: forward to a valid email address.") % {"rule": label})
        if action.keep_copy and "copy" not in extensions:
            raise FilterError(_("%(rule)s: this server cannot forward and keep a copy.") % {"rule": label})
    if action.kind == "reject" and "reject" not in extensions:
        raise FilterError(_("%(rule)s: this server cannot reject messages.") % {"rule": label})


# ---------------------------------------------------------------- compiling
def filters_compile(filters: FilterSet, *, extensions: frozenset[str]) -> str:
    """The Sieve script for `filters` (deterministic: the same rules give the same text)."""
    filters_validate(filters, extensions=extensions)
    requires: set[str] = set()
    body: list[str] = []
    vacation = filters.vacation
    if vacation.enabled:
        body += _compile_vacation(vacation, requires)
    for rule in filters.rules:
        if rule.enabled:
            body += _compile_rule(rule, requires, extensions)
    lines = [HEADER, MARKER + json.dumps(_to_json(filters), ensure_ascii=True, sort_keys=True, separators=(",", ":"))]
    if requires:
        lines.append(f"require {_string_list(sorted(requires))};")
    lines += body
    return "\r\n".join(lines) + "\r\n"


def _compile_vacation(vacation: Vacation, requires: set[str]) -> list[str]:
    requires.add("vacation")
    arguments = [f":days {vacation.days}"]
    if vacation.subject.strip():
        arguments.append(f":subject {sieve_quote(_one_line(vacation.subject))}")
    if vacation.addresses:
        arguments.append(f":addresses {_string_list(vacation.addresses)}")
    command = f"vacation {' '.join(arguments)} {sieve_quote(vacation.text)};"
    tests = []
    if vacation.start:
        tests.append(f'currentdate :value "ge" "date" {sieve_quote(vacation.start.isoformat())}')
    if vacation.end:
        tests.append(f'currentdate :value "le" "date" {sieve_quote(vacation.end.isoformat())}')
    if not tests:
        return ["# out-of-office reply", command]
    requires.update({"date", "relational"})
    return ["# out-of-office reply", f"if allof({', '.join(tests)}) {{", f"  {command}", "}"]


def _compile_condition(condition: Condition, requires: set[str]) -> str:
    if condition.field == "size":
        number, unit = _SIZE.fullmatch(condition.value.strip()).groups()  # type: ignore[union-attr]
        test = f"size :{condition.match} {int(number)}{unit.upper()}"
    else:
        header = condition.header if condition.field == "header" else condition.field
        if condition.match == "regex":
            requires.add("regex")
        value = _one_line(condition.value)
        test = f"header :{condition.match} {sieve_quote(header)} {sieve_quote(value)}"
    return f"not {test}" if condition.negate else test


def _compile_rule(rule: Rule, requires: set[str], extensions: frozenset[str]) -> list[str]:
    tests = [_compile_condition(condition, requires) for condition in rule.conditions]
    if not tests:
        condition = "true"
    elif len(tests) == 1:
        condition = tests[0]
    else:
        condition = f"{'allof' if rule.match_all else 'anyof'}({', '.join(tests)})"
    commands = _compile_actions(rule.actions, requires, extensions)
    if rule.stop:
        commands.append("stop;")
    label = _one_line(rule.name)
    return [f"# rule: {label}" if label else "# rule", f"if {condition} {{", *(f"  {c}" for c in commands), "}"]


def _compile_actions(actions: list[Action], requires: set[str], extensions: frozenset[str]) -> list[str]:
    kinds = {action.kind for action in actions}
    commands: list[str] = []
    # Flags first: imap4flags applies them to the fileinto/keep that follow.
    flags = [flag for kind, flag in (("flag", "\\Flagged"), ("read", "\\Seen")) if kind in kinds]
    if flags:
        requires.add("imap4flags")
        commands.append(f"addflag {_string_list(flags)};")
    for action in actions:
        if action.kind in ("move", "copy"):
            requires.add("fileinto")
            options = ""
            if action.kind == "copy":
                requires.add("copy")
                options += " :copy"
            if "mailbox" in extensions:  # :create makes a missing folder instead of failing
                requires.add("mailbox")
                options += " :create"
            commands.append(f"fileinto{options} {sieve_quote(_one_line(action.argument))};")
        elif action.kind == "forward":
            if action.keep_copy:
                requires.add("copy")
            options = " :copy" if action.keep_copy else ""
            commands.append(f"redirect{options} {sieve_quote(action.argument.strip())};")
    if "discard" in kinds:
        commands.append("discard;")
    for action in actions:
        if action.kind == "reject":
            requires.add("reject")
            commands.append(f"reject {sieve_quote(action.argument or 'This message was refused.')};")
    return commands


# ---------------------------------------------------------------- reading back
def _to_json(filters: FilterSet) -> dict[str, Any]:
    data = asdict(filters)
    data["version"] = FORMAT_VERSION
    vacation = data["vacation"]
    for key in ("start", "end"):
        vacation[key] = vacation[key].isoformat() if vacation[key] else None
    return data


def _text(value: Any, limit: int = MAX_VALUE) -> str:
    return str(value)[:limit] if isinstance(value, str | int) else ""


def _from_json(data: Any) -> FilterSet:
    """Rules from the JSON line; unknown or malformed parts are dropped, never trusted."""
    if not isinstance(data, dict):
        return FilterSet()
    rules = []
    for item in data.get("rules") or []:
        if not isinstance(item, dict):
            continue
        conditions = [
            Condition(
                field=_text(c.get("field")),
                match=_text(c.get("match")),
                value=_text(c.get("value")),
                header=_text(c.get("header"), 100),
                negate=bool(c.get("negate")),
            )
            for c in item.get("conditions") or []
            if isinstance(c, dict)
        ]
        actions = [
            Action(kind=_text(a.get("kind")), argument=_text(a.get("argument")), keep_copy=bool(a.get("keep_copy")))
            for a in item.get("actions") or []
            if isinstance(a, dict)
        ]
        rules.append(
            Rule(
                name=_text(item.get("name"), 200),
                enabled=bool(item.get("enabled", True)),
                match_all=bool(item.get("match_all", True)),
                conditions=conditions,
                actions=actions,
                stop=bool(item.get("stop")),
            )
        )
    found = data.get("vacation")
    raw: dict[str, Any] = found if isinstance(found, dict) else {}
    vacation = Vacation(
        enabled=bool(raw.get("enabled")),
        subject=_text(raw.get("subject")),
        text=_text(raw.get("text"), MAX_TEXT),
        start=_date(raw.get("start")),
        end=_date(raw.get("end")),
        days=raw["days"] if isinstance(raw.get("days"), int) else 7,
        addresses=[a for a in raw.get("addresses") or [] if isinstance(a, str)][:20],
    )
    return FilterSet(rules=rules, vacation=vacation)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def filters_parse(script: str, *, extensions: frozenset[str]) -> tuple[FilterSet, bool]:
    """(rules found in the script, whether it has custom parts)."""
    filters = FilterSet()
    for line in script.splitlines():
        if line.startswith(MARKER):
            try:
                filters = _from_json(json.loads(line[len(MARKER) :]))
            except ValueError:
                return FilterSet(), True
            break
    else:
        return filters, bool(script.strip())
    try:
        compiled = filters_compile(filters, extensions=extensions)
    except FilterError:
        return filters, True
    return filters, _normalised(compiled) != _normalised(script)


def _normalised(script: str) -> str:
    return "\n".join(line.rstrip() for line in script.replace("\r\n", "\n").strip().split("\n"))


# ---------------------------------------------------------------- the server
def _connection(account: MailAccount) -> SieveConnection:
    return SieveConnection(SieveSettings.for_account(account))


def filters_load(*, account: MailAccount) -> FilterState:
    """The account's rules as the server holds them. Raises SieveError when it cannot be reached."""
    with _connection(account) as sieve:
        scripts = sieve.list_scripts()
        active = next((s.name for s in scripts if s.active), None)
        name = active or SCRIPT_NAME
        script = sieve.get_script(name) if any(s.name == name for s in scripts) else ""
        extensions = sieve.extensions
    filters, custom = filters_parse(script, extensions=extensions)
    return FilterState(
        filters=filters, script_name=name, script=script, custom=custom, extensions=extensions, active=bool(active)
    )


def filters_save(*, account: MailAccount, filters: FilterSet, replace_custom: bool = False) -> FilterState:
    """Compiles the rules, stores them as Ruche's script and makes it the active one.

    A script with custom parts is not overwritten unless `replace_custom`; then its text is kept
    on the server as BACKUP_NAME (inactive), so nothing written by hand is lost.
    """
    with _connection(account) as sieve:
        extensions = sieve.extensions
        script = filters_compile(filters, extensions=extensions)
        scripts = sieve.list_scripts()
        active = next((s.name for s in scripts if s.active), None)
        current_name = active or SCRIPT_NAME
        current = sieve.get_script(current_name) if any(s.name == current_name for s in scripts) else ""
        _old, custom = filters_parse(current, extensions=extensions)
        if custom:
            if not replace_custom:
                raise FiltersReadOnlyError(
                    _("The filter script on the server has custom parts; edit it as a script, or replace it.")
                )
            sieve.put_script(BACKUP_NAME, current)
        sieve.put_script(SCRIPT_NAME, script)
        sieve.set_active(SCRIPT_NAME)
    return FilterState(
        filters=filters, script_name=SCRIPT_NAME, script=script, custom=False, extensions=extensions, active=True
    )


def filters_save_script(*, account: MailAccount, name: str, script: str) -> FilterState:
    """Stores a script written by hand (the server compiles it: SieveScriptError says why not) and activates it."""
    name = _one_line(name)[:100] or SCRIPT_NAME
    with _connection(account) as sieve:
        sieve.put_script(name, script.replace("\r\n", "\n").replace("\n", "\r\n"))
        sieve.set_active(name)
        extensions = sieve.extensions
    filters, custom = filters_parse(script, extensions=extensions)
    return FilterState(
        filters=filters, script_name=name, script=script, custom=custom, extensions=extensions, active=True
    )


def filters_rule_save(*, account: MailAccount, rule: Rule, index: int | None) -> FilterState:
    """Adds a rule (index None) or replaces rule `index`, keeping the others and the vacation."""
    state = filters_load(account=account)
    if state.custom:
        raise FiltersReadOnlyError(_("The filter script on the server has custom parts; edit it as a script."))
    rules = list(state.filters.rules)
    if index is None:
        rules.append(rule)
    elif 0 <= index < len(rules):
        rules[index] = rule
    else:
        raise FilterError(_("This rule no longer exists (changed on another device?)."))
    return filters_save(account=account, filters=FilterSet(rules=rules, vacation=state.filters.vacation))


def filters_rule_delete(*, account: MailAccount, index: int) -> FilterState:
    state = filters_load(account=account)
    if state.custom:
        raise FiltersReadOnlyError(_("The filter script on the server has custom parts; edit it as a script."))
    rules = list(state.filters.rules)
    if not 0 <= index < len(rules):
        raise FilterError(_("This rule no longer exists (changed on another device?)."))
    del rules[index]
    return filters_save(account=account, filters=FilterSet(rules=rules, vacation=state.filters.vacation))


def filters_rule_move(*, account: MailAccount, index: int, offset: int) -> FilterState:
    state = filters_load(account=account)
    if state.custom:
        raise FiltersReadOnlyError(_("The filter script on the server has custom parts; edit it as a script."))
    rules = list(state.filters.rules)
    target = index + offset
    if not (0 <= index < len(rules) and 0 <= target < len(rules)):
        return state
    rules[index], rules[target] = rules[target], rules[index]
    return filters_save(account=account, filters=FilterSet(rules=rules, vacation=state.filters.vacation))


def filters_vacation_save(*, account: MailAccount, vacation: Vacation) -> FilterState:
    state = filters_load(account=account)
    if state.custom:
        raise FiltersReadOnlyError(_("The filter script on the server has custom parts; edit it as a script."))
    return filters_save(account=account, filters=FilterSet(rules=state.filters.rules, vacation=vacation))


def rule_from_message(message: Message) -> Rule:
    """A rule prefilled from a message: its mailing list when it has one, else its sender, plus the subject."""
    conditions = []
    if message.list_id:
        conditions.append(Condition(field="header", header="List-Id", match="contains", value=message.list_id))
    elif message.from_address:
        conditions.append(Condition(field="from", match="contains", value=message.from_address))
    if message.subject and not message.list_id:
        conditions.append(Condition(field="subject", match="contains", value=message.subject[:200]))
    name = message.list_id or message.from_name or message.from_address
    return Rule(name=_one_line(name)[:200], conditions=conditions, actions=[Action(kind="move")])


def vacation_default(*, account: MailAccount) -> Vacation:
    today = timezone.localdate()
    return Vacation(start=today, addresses=[account.email_address])


__all__ = [
    "Action",
    "Condition",
    "FilterError",
    "FilterSet",
    "FilterState",
    "FiltersReadOnlyError",
    "Rule",
    "SieveError",
    "Vacation",
    "filters_compile",
    "filters_load",
    "filters_parse",
    "filters_save",
    "filters_save_script",
    "sieve_quote",
]
