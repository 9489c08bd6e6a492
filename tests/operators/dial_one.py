"""A dialer process for the crash test: claim one due lead of a campaign and dial it.

    python dial_one.py CAMPAIGN     (connections and OUTCALL_CAMPAIGNS_DIR from the environment)
"""
import sys

from outcall_provider.engine import campaign_engine

engine = campaign_engine(sys.argv[1], poll_interval=0.05)
leads = engine.store.claim_due_leads(engine.campaign_id, engine.clock(), 1)
print(engine.dial(leads), flush=True)
