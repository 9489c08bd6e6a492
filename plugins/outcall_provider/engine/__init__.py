"""The call engine: dial claimed leads and reconcile their calls (no Airflow).

Plain classes over a CampaignHook and a TwilioHook, so the same code runs in an Airflow task,
the CLI, a benchmark or a crash test. Decisions take `now` from one injectable clock.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable

from outcall_provider import clock as default_clock
from outcall_provider.campaign_files import state_rules as load_state_rules
from outcall_provider.engine.compliance import ComplianceGate
from outcall_provider.engine.dialer import Dialer, DialReport
from outcall_provider.engine.reconciler import ORPHAN_GRACE, PRICE_RECHECK, Reconciler, ReconcileReport
from outcall_provider.hooks.call_ends import CallEnds
from outcall_provider.hooks.campaign import CampaignHook
from outcall_provider.hooks.twilio import TwilioHook
from outcall_provider.rules.campaign import Campaign
from outcall_provider.rules.state_rules import StateRules

__all__ = ["CallEngine", "DialReport", "ReconcileReport", "ORPHAN_GRACE", "campaign_engine"]


class CallEngine(Dialer, Reconciler):
    """Dials and reconciles one campaign."""

    def __init__(self, store: CampaignHook, twilio: TwilioHook, campaign: Campaign, campaign_id: int, *,
                 clock: Callable[[], datetime] = default_clock.now, sleep: Callable[[float], None] = time.sleep,
                 poll_interval: float = 1.0, variables_grace: timedelta = timedelta(minutes=5),
                 orphan_grace: timedelta = ORPHAN_GRACE, price_recheck: timedelta = PRICE_RECHECK,
                 state_rules: StateRules | None = None, call_ends: CallEnds | None = None):
        self.store, self.twilio, self.campaign, self.campaign_id = store, twilio, campaign, campaign_id
        self.call_ends, self.twilio_asked_at = call_ends, None  # woken by status callbacks, if given
        self.clock, self.sleep, self.poll_interval = clock, sleep, poll_interval
        self.variables_grace, self.orphan_grace, self.price_recheck = variables_grace, orphan_grace, price_recheck
        self.window = campaign.window()
        self._state_rules = state_rules if state_rules is not None else load_state_rules(campaign)
        self._gate: ComplianceGate | None = None

    @property
    def gate(self) -> ComplianceGate:
        """The campaign's compliance gate (made again if the campaign was replaced)."""
        if self._gate is None or self._gate.campaign is not self.campaign:
            self._gate = ComplianceGate(self.store, self.campaign, self._state_rules)
        return self._gate



def campaign_engine(campaign_name: str, *, listen: bool = False, **engine_kwargs) -> CallEngine:
    """The one factory: the campaign's file, its own store and Twilio account, the engine.
    With `listen`, and a Twilio connection that has status callbacks sent, the engine's waits
    for a free line end when a callback says a call ended (hooks/call_ends.py)."""
    from outcall_provider.campaign_files import find_campaign
    from outcall_provider.hooks import campaign_hooks

    campaign = find_campaign(campaign_name)
    store, twilio = campaign_hooks(campaign)
    if listen and twilio.callback_base_url:
        engine_kwargs["call_ends"] = CallEnds.of_store(campaign.db_conn_id, store.get_conn)
    return CallEngine(store, twilio, campaign, store.campaign_id(campaign.name), **engine_kwargs)
