-- lead_hold_facts counted by the facts themselves: few groups (one per clock and flags, plus
-- one per number called lately), so the page judges them all without reading every lead.
select status, due, min(due_at) as due_at, has_dialable, callee_clock_id, consented, dnc_lists, recent_calls,
       count(*) as leads
from ({{lead_hold_facts}}) f
group by status, due, has_dialable, callee_clock_id, consented, dnc_lists, recent_calls
