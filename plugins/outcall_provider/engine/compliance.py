"""The compliance gate of one campaign: which callee clocks are inside their hours now (for the
claim), and the checks right before each call (rules/compliance.py over the store)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from outcall_provider import campaign_files
from outcall_provider.hooks.rows import ClaimedLead
from outcall_provider.rules import caller_id, compliance
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.compliance import CalleeClock, FrequencyCap, HoursCheck
from outcall_provider.rules.state_rules import StateRules, area_code_states
from outcall_provider.rules.states import HOLD_REASONS, HoldReason
from outcall_provider.rules.window import day_start

NO_CLOCK = CalleeClock(None, (), (), "no clock recorded")


class ComplianceGate:
    """`state_rules`: the campaign's (campaign_files.state_rules), read from its files when not given."""

    def __init__(self, store, campaign: Campaign, state_rules: StateRules | None = None):
        if state_rules is None:
            state_rules = campaign_files.state_rules(campaign)
        self.store, self.campaign, self.state_rules = store, campaign, state_rules
        self._clocks: dict[int, CalleeClock] = {}
        self.window = campaign.window()

    def clock(self, clock_id: int | None) -> CalleeClock:
        if clock_id is None:
            return NO_CLOCK
        if clock_id not in self._clocks:  # a clock an import added since: read them again
            self._clocks = self.store.callee_clocks()
        return self._clocks.get(clock_id, NO_CLOCK)

    def claim_filter(self, now: datetime) -> dict:
        """The claim's parameters: the ids of the clocks inside their hours now, and consent."""
        self._clocks = self.store.callee_clocks()
        c = self.campaign.compliance
        open_ids = [k.id for k in self._clocks.values()
                    if compliance.check_hours(c, self.state_rules, k, now).hold is None]
        return {"open_clocks": open_ids, "require_consent": c.require_consent}

    def next_due_filter(self, now: datetime) -> dict:
        """lead_next_due_gated's parameters: when each clock next opens, from `now` on. A clock
        that does not open soon (no zone known, or zones that share no allowed hour) is left out,
        so its leads are skipped; `max_clock_id` still counts it as known."""
        self._clocks = self.store.callee_clocks()
        c = self.campaign.compliance
        ids, opens = [], []
        for k in self._clocks.values():
            opens_at = compliance.next_allowed(c, self.state_rules, k, now)
            if opens_at is not None:
                ids.append(k.id)
                opens.append(opens_at)
        return {"clock_ids": ids, "opens_at": opens, "max_clock_id": max(self._clocks, default=0),
                "require_consent": c.require_consent}

    def hold_params(self, at: datetime) -> dict:
        """lead_hold_facts' time parameters: `at`, and how far back calls count for a cap."""
        return {"at": at, "since": at - compliance.longest_cap_period(self.campaign.compliance, self.state_rules)}

    def reasons(self, facts: dict, at: datetime) -> list[tuple[HoldReason, str]]:
        """Why a lead (a row of lead_hold_facts, or a group of lead_hold_groups) is not dialable at `at`."""
        f = compliance.LeadFacts(**{k: facts[k] for k in compliance.LeadFacts.__dataclass_fields__})
        f = dataclasses.replace(f, dnc_lists=tuple(f.dnc_lists), recent_calls=tuple(f.recent_calls))
        return compliance.hold_reasons(self.campaign.compliance, self.state_rules, self.window,
                                       self.clock(f.callee_clock_id), f, at)

    def held_counts(self, groups: list[dict], at: datetime) -> dict[str, int]:
        """Leads held back at `at` per reason (a lead counts under each of its reasons), and `dialable`."""
        counts = no_leads_held()
        for g in groups:
            reasons = self.reasons(g, at)
            for code, _ in reasons:
                counts[code.value] += g["leads"]
            if not reasons:
                counts["dialable"] += g["leads"]
        return counts

    def hours(self, lead: ClaimedLead, now: datetime) -> HoursCheck:
        return compliance.check_hours(self.campaign.compliance, self.state_rules, self.clock(lead.callee_clock_id), now)

    def number_caps(self, lead: ClaimedLead) -> list[FrequencyCap]:
        return compliance.number_caps(self.campaign.compliance, self.state_rules,
                                      self.clock(lead.callee_clock_id).states)

    def caller(self, lead: ClaimedLead, now: datetime) -> caller_id.CallerChoice:
        a = self.campaign.assistant
        if len(a.phone_numbers) == 1 and a.caller_id_daily_cap is None:
            return caller_id.CallerChoice(a.phone_number, "the assistant's one number")
        today = self.store.calls_from(list(a.phone_numbers), self.day_start(now))
        return caller_id.choose(a.phone_numbers, a.caller_id, lead.to_number,
                                self.clock(lead.callee_clock_id).states, today, a.caller_id_daily_cap,
                                area_code_states)

    def day_start(self, now: datetime, days_ahead: int = 0) -> datetime:
        """Midnight of `now`'s day (or a later one) on the assistant's clock: caller-ID caps count
        per day."""
        return day_start(now, self.campaign.assistant.timezone, days_ahead)

    def next_day_start(self, now: datetime) -> datetime:
        return self.day_start(now, days_ahead=1)


def no_leads_held() -> dict[str, int]:
    """held_counts of a campaign without leads: every reason and `dialable` at 0."""
    return dict.fromkeys([*HOLD_REASONS, "dialable"], 0)
