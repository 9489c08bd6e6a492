-- The next due moment of a campaign's waiting leads: one step down the outcall_leads_due index.
select min(due_at) as next_due_at
from outcall_leads
where campaign_id = %(campaign_id)s and status in {{WAITING_LEAD_STATUSES}}
