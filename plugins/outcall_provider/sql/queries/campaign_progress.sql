-- How far the campaign is: leads not yet terminal, and attempts whose result is not judged.
select count(*) filter (where status not in {{TERMINAL_LEAD_STATUSES}}) as open_leads,
       count(*) as leads,
       (select count(*) from outcall_attempts
        where campaign_id = %(campaign_id)s and judged_at is null) as open_attempts
from outcall_leads
where campaign_id = %(campaign_id)s
