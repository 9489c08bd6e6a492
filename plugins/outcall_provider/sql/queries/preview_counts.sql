-- Leads grouped by why they would or would not be dialed at `at`.
select case
           when status in {{WAITING_LEAD_STATUSES}} and due_at <= %(at)s then 'due'
           when status in {{WAITING_LEAD_STATUSES}} then 'waiting'
           else status
       end as reason,
       count(*) as leads,
       min(due_at) as earliest_due
from outcall_leads
where campaign_id = %(campaign_id)s
group by 1
order by 1
