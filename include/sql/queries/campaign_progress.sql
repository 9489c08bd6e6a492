-- Is every lead terminal, and when is the next one due (for a dialer deciding to wait)?
select count(*) filter (where status not in ('completed', 'max_retries')) as open_leads,
       min(due_at) filter (where status in ('created', 'rescheduled')) as next_due_at,
       count(*) as leads
from outcall_leads
where campaign_id = %(campaign_id)s
