"""What a campaign file means, in words: `outcall validate` prints it and the DAG's doc shows it.

Pure: the moment "now" comes in as an argument.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from outcall_provider.rules.campaign import WEEKDAYS, Campaign, Schedule
from outcall_provider.rules.compliance import format_period
from outcall_provider.rules.window import CallingWindow


def describe(campaign: Campaign, phone: Callable[[str], str] = str) -> list[tuple[str, str]]:
    """(what, in words) for each part of the campaign a person should check; `phone` shows the
    caller ID (the CLI masks it)."""
    a, r = campaign.assistant, campaign.retry
    rounds = "1 round" if r.max_attempts == 1 else f"up to {r.max_attempts} rounds, {r.interval_minutes} min apart"
    return [
        ("assistant", f"{a.name}, calling from {_pool(a, phone)} ({a.voice_url or a.stream_url})"),
        ("calling window", window_words(campaign.schedule, a.timezone)),
        ("retries", f"{rounds}; voicemail {'is retried' if r.on_voicemail else 'counts as reached'}"),
        ("goal", f"{campaign.goal} (a lead is called again until it is true)" if campaign.goal
         else "none (retry.until_goal): a person reached completes the lead"),
        ("calls in parallel", str(campaign.max_calls_in_parallel)),
        ("leads", _lead_source(campaign)),
        ("compliance", _compliance(campaign.compliance)),
    ]


def _pool(a, phone: Callable[[str], str]) -> str:
    if len(a.phone_numbers) == 1:
        return phone(a.phone_number)
    cap = f", at most {a.caller_id_daily_cap} calls per number per day" if a.caller_id_daily_cap else ""
    return f"{len(a.phone_numbers)} numbers ({', '.join(map(phone, a.phone_numbers))}; caller_id {a.caller_id}{cap})"


def _compliance(c) -> str:
    hours = (f"callee local time {c.recipient_hours} in every zone the callee may be in" if c.recipient_hours
             else f"callee-local hours OFF ({c.reason})")
    parts = [hours, "US state rules" + (f" with {c.state_rules}" if c.state_rules else ""),
             "do-not-call lists of the store"]
    if c.max_calls_per_number:
        parts.append(f"at most {c.max_calls_per_number.calls} calls per number per "
                     f"{format_period(c.max_calls_per_number.per)} across campaigns")
    if c.opt_out_variable:
        parts.append(f"opt-out by {c.opt_out_variable}")
    if c.require_consent:
        parts.append("consent_at required")
    return "; ".join(parts)


def window_words(schedule: Schedule, timezone: str) -> str:
    days = "every day" if tuple(schedule.days) == WEEKDAYS else ", ".join(schedule.days)
    words = f"{schedule.start:%H:%M}-{schedule.end:%H:%M} {timezone}, {days}"
    if schedule.end < schedule.start:
        words += (f"; it crosses midnight: open from {schedule.start:%H:%M} until {schedule.end:%H:%M} the next "
                  f"morning (legal, but usually a typo for {schedule.end:%H:%M}-{schedule.start:%H:%M})")
    return words


def when_open(window: CallingWindow, now: datetime) -> str:
    """Whether the window is open at `now` and until when, or when it next opens, in the
    campaign's clock and in UTC."""
    closes = window.closes_at(now)
    if closes is not None:
        return f"open now, until {local_and_utc(closes, window.timezone)}"
    return f"closed now; it next opens {local_and_utc(window.next_open(now), window.timezone)}"


def outside_the_window(campaign: Campaign, now: datetime) -> str:
    """Why nothing is dialed: the window's hours and, as everywhere, when it next opens."""
    timezone = campaign.assistant.timezone
    return (f"outside the calling window ({window_words(campaign.schedule, timezone)}): "
            f"{when_open(campaign.window(), now)}")


def no_call_this_tick(campaign: Campaign, placed: int, now: datetime) -> str | None:
    """Why a tick's dialer ends skipped: it placed no call and the window is closed. None: it
    is not skipped (no call in an open window means nothing was due)."""
    if placed or campaign.window().is_open(now):
        return None
    return f"no call placed this tick: {outside_the_window(campaign, now)}"


def local_and_utc(instant: datetime, timezone: str) -> str:
    """`Mon 2026-11-30 09:00 America/New_York (14:00 UTC)`: the campaign's clock first."""
    local = instant.astimezone(ZoneInfo(timezone))
    return f"{local:%a %Y-%m-%d %H:%M} {timezone} ({instant.astimezone(ZoneInfo('UTC')):%H:%M} UTC)"


def _lead_source(campaign: Campaign) -> str:
    source = campaign.leads
    if source is None:
        return "none synced: leads are imported with `outcall import-leads`, uploaded or added by hand"
    region = f", national numbers read as {source.default_region}" if source.default_region else ""
    if source.csv:
        return f"the CSV file {source.csv} (next to the campaign file){region}"
    return f"a SQL query on the connection {source.conn_id}{region}"
