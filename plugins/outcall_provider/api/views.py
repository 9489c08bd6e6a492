"""What the Campaigns page shows, as JSON-ready dicts built from the store and campaign files.

No FastAPI and no Airflow here: the routes pass in the DAG states they read from Airflow,
and bench/pages.py times these same functions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from outcall_provider import campaign_files
from outcall_provider.rules.campaign import DAG_ID_PREFIX, Campaign, CampaignFileError, parse_campaign_dict
from outcall_provider.rules.phone import InvalidPhone, mask_phone, mask_phones_in_text, normalize_phone
from outcall_provider.rules.progress import page_status
from outcall_provider.rules.states import LEAD_STATUSES, HoldReason
from outcall_provider.rules.window import day_start

_LEAD_ID = re.compile(r"#?(\d{1,18})")


@dataclass(frozen=True)
class CampaignView:
    """A campaign as the page knows it: its file (or the spec the store kept) and its store row."""

    name: str
    campaign: Campaign | None  # None: its file is invalid and no store kept its spec
    store_id: int | None
    store_status: str
    db_conn_id: str = "outcall_db"  # the store that keeps this campaign's leads and calls
    store_error: str | None = None  # why its store could not be read, phone numbers masked
    file_errors: tuple[str, ...] = ()  # why its file is invalid, each naming file, key and what is allowed

    @property
    def dag_id(self) -> str:
        return DAG_ID_PREFIX + self.name


def _stores(hooks) -> Callable[[str], Any]:
    """`hooks`: a function conn_id -> CampaignHook, or one hook used for every store (bench)."""
    return hooks if callable(hooks) else (lambda conn_id: hooks)


def campaigns(hooks) -> list[CampaignView]:
    """Campaign files, each with its row in its own store, plus campaigns only a store knows
    (a file since removed). `hooks` as in _stores."""
    hook_for = _stores(hooks)
    files = campaign_files.cached_campaigns()
    invalid = campaign_files.invalid_campaign_files()
    conn_ids = list(dict.fromkeys(["outcall_db", *(c.db_conn_id for c in files)]))
    stored: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for conn_id in conn_ids:
        try:
            stored[conn_id] = hook_for(conn_id).page_campaign_ids()
        except Exception as e:  # one unreachable store must not hide the others' campaigns
            errors[conn_id] = mask_phones_in_text(f"store {conn_id!r} cannot be read: {e}".strip())
            stored[conn_id] = {}
    found: dict[str, CampaignView] = {}
    for campaign in files:
        row = stored[campaign.db_conn_id].get(campaign.name, {})
        found[campaign.name] = CampaignView(campaign.name, campaign, row.get("id"), row.get("status", "draft"),
                                            campaign.db_conn_id, errors.get(campaign.db_conn_id))
    # An invalid file has no DAG and no db_conn_id we can trust: its leads and calls are found by
    # the campaign's name in the stores we know (the default store first), read only, untouched.
    for name, error in invalid.items():
        errors_shown = tuple(mask_phones_in_text(f"{Path(error.path).name}: {e}") for e in error.errors)
        conn_id, row = next(((conn_id, stored[conn_id][name]) for conn_id in conn_ids if name in stored[conn_id]),
                            ("outcall_db", None))
        campaign = _stored_spec(name, row) if row else None
        found[name] = CampaignView(name, campaign, row and row["id"], row["status"] if row else "draft", conn_id,
                                   errors.get(conn_id), errors_shown)
    for conn_id in conn_ids:
        for name, row in stored[conn_id].items():
            campaign = None if name in found else _stored_spec(name, row)
            if campaign is not None:
                found[name] = CampaignView(name, campaign, row["id"], row["status"], conn_id)
    return sorted(found.values(), key=lambda c: c.name)


def _stored_spec(name: str, row: dict) -> Campaign | None:
    """The campaign as its store kept it when last synced (None if that spec is no longer valid)."""
    try:
        return parse_campaign_dict(row["spec"], f"store:{name}")
    except CampaignFileError:
        return None


def campaign_by_name(hooks, name: str) -> CampaignView | None:
    return next((c for c in campaigns(hooks) if c.name == name), None)


def campaign_summary(hook, view: CampaignView, now: datetime, dag: dict | None) -> dict[str, Any]:
    c = view.campaign
    row = {
        "name": view.name, "dag_id": view.dag_id,
        "status": page_status(view.store_status, dag["is_paused"] if dag else None, not view.file_errors).value,
        "file_errors": list(view.file_errors),
        "dag_loaded": dag is not None, "dag_paused": dag["is_paused"] if dag else None,
        "assistant": None, "timezone": None, "goal": None, "post_call_variables": {}, "schedule": None,
        "max_attempts": None, "window_open": None, "window_next_open": None, "window_closes_at": None,
        "leads": 0, "leads_by_status": {s: 0 for s in LEAD_STATUSES}, "goal_met": 0,
        "conversion": None, "calls_today": 0, "calls_in_flight": 0, "calls_awaiting_result": 0,
        "cost": 0, "cost_unit": None, "db_conn_id": view.db_conn_id, "store_error": view.store_error,
    }
    if c is not None:  # the file, or for an invalid file the spec its store kept
        window = c.window()
        row.update({
            "assistant": c.assistant.name, "timezone": c.assistant.timezone,
            "goal": c.goal, "post_call_variables": c.assistant.post_call_variables,
            "schedule": {"hours": c.schedule.hours, "days": list(c.schedule.days)},
            "max_attempts": c.retry.max_attempts,
            "window_open": window.is_open(now), "window_next_open": window.next_open(now),
            "window_closes_at": window.closes_at(now)})
    if view.store_id is not None:
        tz = c.assistant.timezone if c else "UTC"
        row.update(hook.page_campaign_summary(view.store_id, day_start(now, tz)))
        row["conversion"] = row["goal_met"] / row["leads"] if row["leads"] and row["goal"] else None
    return row


def campaign_list(hooks, now: datetime, dag_states: dict[str, dict],
                  views: list[CampaignView] | None = None) -> list[dict[str, Any]]:
    """Summaries of `views` (default: every campaign), each read from its own store."""
    hook_for = _stores(hooks)
    return [campaign_summary(hook_for(v.db_conn_id) if v.store_id is not None else None,  # no store row: none read
                             v, now, dag_states.get(v.dag_id))
            for v in (campaigns(hooks) if views is None else views)]


# The funnel's steps, each a subset of the one before, counted per lead over all its calls
# (every cycle: a lead a person set back to `created` keeps what already happened to it).
_FUNNEL = (
    ("leads", "leads", "every lead of the campaign"),
    ("called", "funnel_called", "leads with at least one call placed, ever (resets included)"),
    ("reached a person", "funnel_reached",
     "called leads with a judged call a person answered (reached, goal met or not, variables late), ever"),
    ("goal met", "funnel_goal_met", "leads reached by a call whose goal variable came back true, ever"),
)


def campaign_detail(hook, view: CampaignView, now: datetime, dag: dict | None) -> dict[str, Any]:
    row = campaign_summary(hook, view, now, dag)
    charts = {"attempts_by_outcome": {}, "live_calls": {}, "answer_rate_by_hour": [],
              "funnel_called": 0, "funnel_reached": 0, "funnel_goal_met": 0}
    if view.store_id is not None:
        charts = hook.page_campaign_charts(view.store_id, row["timezone"] or "UTC")
    counts = {"leads": row["leads"], **charts}
    row["funnel"] = [{"stage": stage, "leads": counts[key], "title": title} for stage, key, title in _FUNNEL
                     if stage != "goal met" or row["goal"]]
    row.update({k: v for k, v in charts.items() if not k.startswith("funnel_")})
    return row


def parse_search(q: str | None, default_region: str | None) -> dict[str, Any]:
    """A search box entry → the exact keys it can match: a phone, an external_id, a lead id."""
    q = (q or "").strip()
    if not q:
        return {}
    found: dict[str, Any] = {"text": q}
    m = _LEAD_ID.fullmatch(q)
    if m:
        found["lead_id"] = int(m.group(1))
    try:
        found["phone"] = normalize_phone(q, default_region)
    except InvalidPhone:
        pass
    return found


def lead_page(hook, view: CampaignView, *, status: str | None = None, q: str | None = None,
              sort: str = "activity", before: int | None = None, before_at: datetime | None = None,
              limit: int = 50) -> dict[str, Any]:
    if view.store_id is None:
        return {"leads": [], "next_before": None, "next_before_at": None}
    statuses = [status] if status else list(LEAD_STATUSES)
    region = view.campaign.default_region if view.campaign else None
    leads = hook.page_leads(view.store_id, statuses=statuses, sort=sort, before=before, before_at=before_at,
                            limit=limit, **parse_search(q, region))
    more = len(leads) == limit
    return {"leads": leads, "next_before": leads[-1]["id"] if more else None,
            "next_before_at": leads[-1]["updated_at"] if more and sort == "activity" else None}


def calls_page(hook, view: CampaignView, *, before: int | None = None, limit: int = 50,
               lead_id: int | None = None) -> dict[str, Any]:
    if view.store_id is None:
        return {"calls": [], "next_before": None}
    calls = hook.page_calls(view.store_id, before=before, limit=limit, lead_id=lead_id)
    for call in calls:
        call["audit"] = audit_shown(call.get("audit"))
    return {"calls": calls, "next_before": calls[-1]["id"] if len(calls) == limit else None}


def audit_shown(audit: dict | None) -> dict | None:
    """An attempt's audit as the page shows it: the caller ID masked to its last 4 digits, and
    the free text that may quote a number (why that caller ID, a written reason) masked too."""
    if not audit:  # a call placed before audits were kept
        return None
    audit = dict(audit)
    if isinstance(audit.get("caller_id"), dict):
        caller = audit["caller_id"] = dict(audit["caller_id"])
        if caller.get("number"):
            caller["number"] = mask_phone(str(caller["number"]))
        if isinstance(caller.get("why"), str):
            caller["why"] = mask_phones_in_text(caller["why"])
    for key in ("recipient_hours_off", "zone_source"):
        if isinstance(audit.get(key), str):
            audit[key] = mask_phones_in_text(audit[key])
    return audit


# What each hold reason means, in the page's words (codes: rules/states.HoldReason).
HOLD_LABELS: dict[HoldReason, tuple[str, str]] = {
    HoldReason.CAMPAIGN_WINDOW: ("outside the calling window",
                                 "the campaign's schedule (hours and days on the assistant's clock) is closed"),
    HoldReason.RECIPIENT_HOURS: ("callee's local time",
                                 "it is outside compliance.recipient_hours (default 08:00-21:00) in a time zone "
                                 "the callee may be in, or no time zone is known for the lead"),
    HoldReason.NO_COMMON_HOUR: ("numbers share no calling hour",
                                "the time zones of the lead's numbers never share an hour the recipient hours "
                                "and state rules allow: it is never called until its numbers or its timezone, "
                                "state or postal_code change"),
    HoldReason.STATE_RULE: ("state calling rules",
                            "a US state of the callee forbids calls at this hour or on this day"),
    HoldReason.DNC: ("do-not-call", "the number is on a do-not-call list of the store"),
    HoldReason.FREQUENCY_CAP: ("called too often lately",
                               "the number had its allowed calls (from any campaign) in the cap's rolling period"),
    HoldReason.NO_CONSENT: ("no consent",
                            "compliance.require_consent is on and the lead has no consent_at"),
    HoldReason.NOT_DUE: ("waiting or in a call",
                         "waiting for its next attempt, or claimed by a dialer or in a call now"),
    HoldReason.TERMINAL: ("done", "the lead is completed or max_retries: it is not called again"),
    HoldReason.NO_DIALABLE_CONTACT: ("no number to dial", "no number of the lead is one Twilio accepts"),
}


def hold_reasons_legend() -> list[dict[str, str]]:
    return [{"code": r.value, "label": HOLD_LABELS[r][0], "meaning": HOLD_LABELS[r][1]} for r in HoldReason]


def held_counts(hook, view: CampaignView, at: datetime) -> dict[str, Any]:
    """How many of the campaign's leads each reason holds back at `at` (a lead counts under each
    of its reasons), and how many are dialable then. Reads every lead of the campaign (grouped
    in SQL): the route caches it."""
    from outcall_provider.engine.compliance import ComplianceGate, no_leads_held

    counts = no_leads_held()
    if view.store_id is not None and view.campaign is not None:
        gate = ComplianceGate(hook, view.campaign)
        counts = gate.held_counts(hook.hold_groups(view.store_id, **gate.hold_params(at)), at)
    dialable = counts.pop("dialable")
    return {"at": at, "dialable": dialable, "held": counts, "reasons": hold_reasons_legend()}
