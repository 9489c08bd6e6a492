"""The campaign model and the validation of campaign files (DESIGN.md §1 and §3).

Validation reports every problem of a file at once, each naming its key path and what is
allowed, because a campaign file is fixed by hand and one error per run wastes the author's time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from phonenumbers import SUPPORTED_REGIONS

from outcall_provider.exceptions import CampaignFileError

from .callee_time import RecipientHours
from .compliance import FEDERAL_HOURS, Compliance, FrequencyCap, format_period, parse_period
from .phone import InvalidPhone, normalize_phone
from .window import CallingWindow, parse_hours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VARIABLE_TYPES = ("boolean", "string", "number")

_TOP_KEYS = ("name", "assistant", "schedule", "retry", "max_calls_in_parallel", "leads", "connections",
             "results", "compliance")
_ASSISTANT_KEYS = ("name", "phone_number", "phone_numbers", "caller_id", "caller_id_daily_cap", "timezone",
                   "voice_url", "stream_url", "post_call_variables")
_COMPLIANCE_KEYS = ("recipient_hours", "reason", "state_rules", "opt_out_variable", "max_calls_per_number",
                    "require_consent")
DAG_ID_PREFIX = "campaign_"  # campaign `spring` runs as the DAG `campaign_spring`
CALLER_ID_STRATEGIES = ("local", "round_robin")
MAX_POOL = 100
_SCHEDULE_KEYS = ("hours", "days")
_RETRY_KEYS = ("max_attempts", "interval_minutes", "on_voicemail", "until_goal")
_LEADS_KEYS = ("csv", "sql", "conn_id", "default_region")
_CONNECTIONS_KEYS = ("db_conn_id", "twilio_conn_id")
_RESULTS_KEYS = ("conn_id", "table")

_NAME_RE = re.compile(r"[a-z0-9_]+")
# schema.table, plain identifiers only: the name goes into DDL and INSERTs unquoted
_TABLE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Assistant:
    name: str
    phone_numbers: tuple[str, ...]  # the caller-ID pool; `phone_number` in a file is a pool of one
    timezone: str
    voice_url: str | None
    stream_url: str | None
    post_call_variables: dict[str, str] = field(default_factory=dict)
    caller_id: str = "local"  # how a number of the pool is chosen (rules/caller_id.py)
    caller_id_daily_cap: int | None = None  # calls per pool number per day (the assistant's clock)

    @property
    def phone_number(self) -> str:
        return self.phone_numbers[0]


@dataclass(frozen=True)
class Schedule:
    hours: str
    days: tuple[str, ...]
    start: time
    end: time


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    interval_minutes: int = 60
    on_voicemail: bool = False
    until_goal: str | None = None


@dataclass(frozen=True)
class LeadSource:
    csv: str | None = None
    sql: str | None = None
    conn_id: str | None = None
    default_region: str | None = None


@dataclass(frozen=True)
class ResultsTarget:
    """Where each tick writes lead and attempt results: `table` (one row per lead) and
    `table`_attempts (one row per judged attempt) on the SQL connection `conn_id`."""
    conn_id: str
    table: str

    @property
    def attempts_table(self) -> str:
        return f"{self.table}_attempts"


@dataclass(frozen=True)
class Campaign:
    name: str
    assistant: Assistant
    schedule: Schedule
    retry: RetryPolicy
    max_calls_in_parallel: int = 3
    leads: LeadSource | None = None
    db_conn_id: str = "outcall_db"
    twilio_conn_id: str = "twilio_default"
    path: str = ""
    results: ResultsTarget | None = None
    compliance: Compliance = Compliance()

    @property
    def dag_id(self) -> str:
        return DAG_ID_PREFIX + self.name

    @property
    def goal(self) -> str | None:
        return self.retry.until_goal

    @property
    def default_region(self) -> str | None:
        """How national numbers of this campaign's leads are read (None: E.164 only)."""
        return self.leads.default_region if self.leads else None

    def window(self) -> CallingWindow:
        days = frozenset(WEEKDAYS.index(d) for d in self.schedule.days)
        return CallingWindow(self.schedule.start, self.schedule.end, days, self.assistant.timezone)

    def to_dict(self) -> dict:
        """The campaign in campaign-file form; parse_campaign_dict(c.to_dict(), c.path) == c."""
        a = self.assistant
        assistant = {"name": a.name, "timezone": a.timezone}
        if len(a.phone_numbers) == 1:
            assistant["phone_number"] = a.phone_number
        else:
            assistant["phone_numbers"] = list(a.phone_numbers)
        assistant["caller_id"] = a.caller_id
        if a.caller_id_daily_cap is not None:
            assistant["caller_id_daily_cap"] = a.caller_id_daily_cap
        assistant.update({k: v for k, v in (("voice_url", a.voice_url), ("stream_url", a.stream_url)) if v})
        assistant["post_call_variables"] = dict(a.post_call_variables)
        r = self.retry
        data = {
            "name": self.name,
            "assistant": assistant,
            "schedule": {"hours": self.schedule.hours, "days": list(self.schedule.days)},
            "retry": {"max_attempts": r.max_attempts, "interval_minutes": r.interval_minutes,
                      "on_voicemail": r.on_voicemail, "until_goal": r.until_goal},
            "max_calls_in_parallel": self.max_calls_in_parallel,
            "connections": {"db_conn_id": self.db_conn_id, "twilio_conn_id": self.twilio_conn_id},
        }
        if self.leads is not None:
            data["leads"] = {k: v for k, v in vars(self.leads).items() if v is not None}
        if self.results is not None:
            data["results"] = {"conn_id": self.results.conn_id, "table": self.results.table}
        c = self.compliance
        data["compliance"] = {
            "recipient_hours": str(c.recipient_hours) if c.recipient_hours else None,
            "reason": c.reason, "state_rules": c.state_rules, "opt_out_variable": c.opt_out_variable,
            "max_calls_per_number": {"calls": c.max_calls_per_number.calls,
                                     "per": format_period(c.max_calls_per_number.per)}
            if c.max_calls_per_number else None,
            "require_consent": c.require_consent}
        return data


def parse_campaign(text: str, path: str) -> Campaign:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise CampaignFileError(path, [f"invalid YAML: {where}{problem}"]) from None
    return parse_campaign_dict(data, path)


def parse_campaign_dict(data, path: str) -> Campaign:
    errors: list[str] = []
    if not isinstance(data, dict):
        raise CampaignFileError(path, [f"the file must be a mapping with keys {', '.join(_TOP_KEYS)}"])
    _unknown(data, _TOP_KEYS, "", errors)

    name = data.get("name")
    if name is None:
        errors.append("name: required; allowed [a-z0-9_]+")
    elif not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        errors.append(f"name: {name!r} is not allowed; allowed [a-z0-9_]+ (lowercase letters, digits, _)")

    assistant_data = _section(data, "assistant", _ASSISTANT_KEYS, errors, required=True)
    # Read apart from the rest of the assistant: a bad timezone must not hide the declared goal.
    variables = _post_call_variables(assistant_data.get("post_call_variables"), errors) if assistant_data else None
    assistant = _assistant(assistant_data, variables, errors)
    schedule = _schedule(_section(data, "schedule", _SCHEDULE_KEYS, errors, required=True), errors)
    retry = _retry(_section(data, "retry", _RETRY_KEYS, errors), variables, errors)
    parallel = _int(data, "max_calls_in_parallel", "max_calls_in_parallel", 1, None, 3, errors)
    leads = _leads(_section(data, "leads", _LEADS_KEYS, errors), errors)
    conns = _section(data, "connections", _CONNECTIONS_KEYS, errors) or {}
    db_conn_id = _str(conns, "db_conn_id", "connections.db_conn_id", errors) or "outcall_db"
    twilio_conn_id = _str(conns, "twilio_conn_id", "connections.twilio_conn_id", errors) or "twilio_default"
    results = _results(_section(data, "results", _RESULTS_KEYS, errors), errors)
    compliance = _compliance(_section(data, "compliance", _COMPLIANCE_KEYS, errors), variables, errors)

    if errors:
        raise CampaignFileError(path, errors)
    return Campaign(name=name, assistant=assistant, schedule=schedule, retry=retry,
                    max_calls_in_parallel=parallel, leads=leads, db_conn_id=db_conn_id,
                    twilio_conn_id=twilio_conn_id, path=path, results=results, compliance=compliance)


def _section(data: dict, key: str, allowed: tuple, errors: list, required: bool = False) -> dict | None:
    """The mapping under `key` (None if absent or broken), after checking its keys."""
    value = data.get(key)
    if value is None:
        if required:
            errors.append(f"{key}: required; a mapping with keys {', '.join(allowed)}")
        return None
    if not isinstance(value, dict):
        errors.append(f"{key}: must be a mapping with keys {', '.join(allowed)}")
        return None
    _unknown(value, allowed, f"{key}.", errors)
    return value


def _unknown(mapping: dict, allowed: tuple, prefix: str, errors: list) -> None:
    for key in mapping:
        if key not in allowed:
            errors.append(f"{prefix}{key}: unknown key; allowed keys: {', '.join(allowed)}")


def _str(m: dict, key: str, where: str, errors: list, required: bool = False) -> str | None:
    value = m.get(key)
    if value is None:
        if required:
            errors.append(f"{where}: required")
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{where}: {value!r} must be a non-empty string")
        return None
    return value


def _int(m: dict, key: str, where: str, lo: int, hi: int | None, default: int | None, errors: list,
         shown_default: str | None = None) -> int | None:
    value = m.get(key)
    if value is None:
        return default
    allowed = f"allowed {lo}–{hi}" if hi is not None else f"allowed {lo} or more"
    shown = shown_default if shown_default is not None else default
    if isinstance(value, bool) or not isinstance(value, int):
        errors.append(f"{where}: {value!r} is not an integer; {allowed} (default {shown})")
    elif value < lo or (hi is not None and value > hi):
        errors.append(f"{where}: {value} is out of range; {allowed} (default {shown})")
    else:
        return value
    return default


def _assistant(m: dict | None, variables: dict[str, str] | None, errors: list) -> Assistant | None:
    if m is None or variables is None:
        return None
    n = len(errors)
    name = _str(m, "name", "assistant.name", errors, required=True)

    pool = _caller_ids(m, errors)
    caller_id = m.get("caller_id", "local")
    if caller_id not in CALLER_ID_STRATEGIES:
        errors.append(f"assistant.caller_id: {caller_id!r} is not allowed; allowed {' or '.join(CALLER_ID_STRATEGIES)} "
                      "(default local)")
    daily_cap = _int(m, "caller_id_daily_cap", "assistant.caller_id_daily_cap", 1, None, None, errors,
                     shown_default="no cap")

    tz = _str(m, "timezone", "assistant.timezone", errors, required=True)
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (KeyError, ValueError, OSError):  # not found / malformed key / a tzdata directory
            errors.append(f"assistant.timezone: {tz!r} is not an IANA timezone; allowed e.g. America/New_York")

    voice_url, stream_url = m.get("voice_url"), m.get("stream_url")
    if voice_url is not None and stream_url is not None:
        errors.append("assistant: set exactly one of voice_url or stream_url, not both")
    elif voice_url is None and stream_url is None:
        errors.append("assistant: one of voice_url (http/https URL) or stream_url (wss:// URL) is required")
    elif voice_url is not None and not _url(voice_url, ("http", "https")):
        errors.append(f"assistant.voice_url: {voice_url!r} is not allowed; allowed an http:// or https:// URL")
    elif stream_url is not None and not _url(stream_url, ("wss",)):
        errors.append(f"assistant.stream_url: {stream_url!r} is not allowed; allowed a wss:// URL")

    if len(errors) > n:
        return None
    return Assistant(name, pool, tz, voice_url, stream_url, variables, caller_id, daily_cap)


def _caller_ids(m: dict, errors: list) -> tuple[str, ...]:
    """assistant.phone_number (a pool of one) or assistant.phone_numbers (a list), as E.164."""
    example = 'an E.164 number such as "+14155550100"'
    one, many = m.get("phone_number"), m.get("phone_numbers")
    if one is not None and many is not None:
        errors.append("assistant: set one of phone_number or phone_numbers, not both")
        return ()
    if one is None and many is None:
        errors.append(f"assistant.phone_number: required (or phone_numbers, a list); {example}")
        return ()
    if one is not None:
        values = [("assistant.phone_number", one)]
    elif not isinstance(many, list) or not many or len(many) > MAX_POOL:
        errors.append(f"assistant.phone_numbers: must be a list of 1–{MAX_POOL} numbers, each {example}")
        return ()
    else:
        values = [(f"assistant.phone_numbers[{i}]", v) for i, v in enumerate(many)]
    pool: list[str] = []
    for where, value in values:
        if not isinstance(value, str):
            errors.append(f'{where}: {value!r} must be a quoted E.164 string such as "+14155550100"')
            continue
        try:
            number = normalize_phone(value)
        except InvalidPhone as e:
            errors.append(f"{where}: {value!r} is not a valid E.164 number ({e.reason}); allowed {example}")
            continue
        if number in pool:
            errors.append(f"{where}: {value!r} is listed twice")
        pool.append(number)
    return tuple(pool)


def _url(value, schemes: tuple) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value.strip())
    return parts.scheme.lower() in schemes and bool(parts.hostname)


def _post_call_variables(value, errors: list) -> dict[str, str] | None:
    """The declared variables; None if they cannot all be read (then nothing is checked against them)."""
    where = "assistant.post_call_variables"
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"{where}: must be a mapping of name to type ({', '.join(VARIABLE_TYPES)})")
        return None
    variables, n = {}, len(errors)
    for name, kind in value.items():
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}: {name!r} is not a variable name; names must be non-empty strings")
        elif kind not in VARIABLE_TYPES:
            errors.append(f"{where}.{name}: {kind!r} is not a type; allowed {', '.join(VARIABLE_TYPES)}")
        else:
            variables[name] = kind
    return variables if len(errors) == n else None


def _schedule(m: dict | None, errors: list) -> Schedule | None:
    if m is None:
        return None
    n = len(errors)
    hours, start, end = m.get("hours"), None, None
    span = parse_hours(hours)
    if hours is None:
        errors.append('schedule.hours: required; allowed "HH:MM-HH:MM", e.g. "09:00-18:00"')
    elif span is None:
        errors.append(f'schedule.hours: {hours!r} is not allowed; allowed "HH:MM-HH:MM" between 00:00 and 23:59, '
                      'e.g. "09:00-18:00" (end earlier than start crosses midnight)')
    elif span[0] == span[1]:
        errors.append(f"schedule.hours: {hours!r} is an empty window; start and end must differ "
                      "(end earlier than start crosses midnight)")
    else:
        start, end = span

    days = m.get("days")
    allowed = f"allowed a non-empty list of {', '.join(WEEKDAYS)}"
    if days is None:
        errors.append(f"schedule.days: required; {allowed}")
    elif not isinstance(days, list) or not days:
        errors.append(f"schedule.days: {days!r} is not allowed; {allowed}")
    else:
        seen = set()
        for day in days:
            key = day.lower() if isinstance(day, str) else day
            if key not in WEEKDAYS:
                errors.append(f"schedule.days: {day!r} is not a weekday; {allowed}")
            elif key in seen:
                errors.append(f"schedule.days: {day!r} is listed twice")
            else:
                seen.add(key)
        days = tuple(d for d in WEEKDAYS if d in seen)

    if len(errors) > n:
        return None
    return Schedule(f"{start:%H:%M}-{end:%H:%M}", days, start, end)


def _retry(m: dict | None, variables: dict[str, str] | None, errors: list) -> RetryPolicy:
    """`variables` None: the assistant's could not be read, so until_goal is taken as declared."""
    if m is None:
        return RetryPolicy()
    max_attempts = _int(m, "max_attempts", "retry.max_attempts", 1, 5, 3, errors)
    interval = _int(m, "interval_minutes", "retry.interval_minutes", 10, 4320, 60, errors)
    on_voicemail = m.get("on_voicemail")
    if on_voicemail is None:
        on_voicemail = False
    elif not isinstance(on_voicemail, bool):
        errors.append(f"retry.on_voicemail: {on_voicemail!r} is not allowed; allowed true or false (default false)")
        on_voicemail = False
    goal = m.get("until_goal")
    booleans = [k for k, v in (variables or {}).items() if v == "boolean"]
    listed = ", ".join(booleans) or "none declared"
    if goal is None:
        pass
    elif variables is None:  # unreadable variables: their error is reported where they are declared
        if not isinstance(goal, str):
            errors.append(f"retry.until_goal: {goal!r} is not allowed; allowed a boolean post-call variable")
            goal = None
    elif not isinstance(goal, str) or goal not in variables:
        errors.append(f"retry.until_goal: {goal!r} is not a post-call variable; "
                      f"allowed a boolean post-call variable ({listed})")
        goal = None
    elif variables[goal] != "boolean":
        errors.append(f"retry.until_goal: {goal!r} is a {variables[goal]} variable; "
                      f"allowed a boolean post-call variable ({listed})")
        goal = None
    return RetryPolicy(max_attempts, interval, on_voicemail, goal)


def _leads(m: dict | None, errors: list) -> LeadSource | None:
    if m is None:
        return None
    n = len(errors)
    csv = _str(m, "csv", "leads.csv", errors)
    sql = _str(m, "sql", "leads.sql", errors)
    conn_id = _str(m, "conn_id", "leads.conn_id", errors)
    if len(errors) == n:
        if (csv is None) == (sql is None):
            errors.append("leads: set exactly one of csv (a file path) or sql (a query with conn_id)")
        elif sql is not None and conn_id is None:
            errors.append("leads.conn_id: required with leads.sql; the Airflow connection to query")
        elif csv is not None and conn_id is not None:
            errors.append("leads.conn_id: only allowed with leads.sql")
    region = m.get("default_region")
    if region is not None:
        if isinstance(region, str) and region.upper() in SUPPORTED_REGIONS:
            region = region.upper()
        else:
            errors.append(f"leads.default_region: {region!r} is not a known region; "
                          "allowed a 2-letter region code such as US, GB, PT")
    if len(errors) > n:
        return None
    return LeadSource(csv, sql, conn_id, region)


def _compliance(m: dict | None, variables: dict[str, str] | None, errors: list) -> Compliance:
    """`variables` None: the assistant's could not be read, so opt_out_variable is taken as declared."""
    if m is None:
        return Compliance()
    n = len(errors)
    hours, allowed = FEDERAL_HOURS, f'allowed "HH:MM-HH:MM" inside the federal {FEDERAL_HOURS} (default)'
    reason = _str(m, "reason", "compliance.reason", errors)
    if "recipient_hours" in m and m["recipient_hours"] is None:
        hours = None
        if reason is None:
            errors.append("compliance.recipient_hours: null (no callee-local hours) needs compliance.reason, "
                          "a written reason why these calls may be made at any hour")
    elif "recipient_hours" in m:
        try:
            hours = RecipientHours.parse(m["recipient_hours"])
        except ValueError:
            errors.append(f"compliance.recipient_hours: {m['recipient_hours']!r} is not allowed; {allowed}")
        else:
            if hours.start < FEDERAL_HOURS.start or hours.end > FEDERAL_HOURS.end:
                errors.append(f"compliance.recipient_hours: {hours} is wider than the federal {FEDERAL_HOURS}; "
                              f"{allowed}, or null with a compliance.reason")
    state_rules = _str(m, "state_rules", "compliance.state_rules", errors)
    opt_out = m.get("opt_out_variable")
    if opt_out is not None and (not isinstance(opt_out, str)
                                or (variables is not None and variables.get(opt_out) != "boolean")):
        booleans = ", ".join(k for k, v in (variables or {}).items() if v == "boolean") or "none declared"
        errors.append(f"compliance.opt_out_variable: {opt_out!r} is not a boolean post-call variable; "
                      f"allowed one of assistant.post_call_variables of type boolean ({booleans})")
    cap = _frequency_cap(m.get("max_calls_per_number"), errors)
    consent = m.get("require_consent", False)
    if not isinstance(consent, bool):
        errors.append(f"compliance.require_consent: {consent!r} is not allowed; allowed true or false (default false)")
    if len(errors) > n:
        return Compliance()
    return Compliance(hours, reason, state_rules, opt_out, cap, consent)


def _frequency_cap(value, errors: list) -> FrequencyCap | None:
    where = "compliance.max_calls_per_number"
    allowed = 'allowed {calls: N (1 or more), per: a period such as "24h", "7d" or "90m"}'
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"calls", "per"}:
        errors.append(f"{where}: {value!r} is not allowed; {allowed}")
        return None
    calls, per = value["calls"], parse_period(value["per"])
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        errors.append(f"{where}.calls: {calls!r} is not allowed; {allowed}")
    if per is None:
        errors.append(f"{where}.per: {value['per']!r} is not allowed; {allowed}")
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1 or per is None:
        return None
    return FrequencyCap(calls, per, "campaign")


def _results(m: dict | None, errors: list) -> ResultsTarget | None:
    if m is None:
        return None
    n = len(errors)
    conn_id = _str(m, "conn_id", "results.conn_id", errors, required=True)
    table = m.get("table")
    if table is None:
        errors.append("results.table: required; allowed schema.table, e.g. crm.outcall_results")
    elif not isinstance(table, str) or not _TABLE_RE.fullmatch(table):
        errors.append(f"results.table: {table!r} is not allowed; allowed schema.table of plain identifiers "
                      "(letters, digits, _), e.g. crm.outcall_results")
    if len(errors) > n:
        return None
    return ResultsTarget(conn_id, table)
