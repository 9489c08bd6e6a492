-- Claim up to `limit` due leads for the next dial. SKIP LOCKED lets any number of
-- workers claim side by side without waiting on, or taking, each other's leads.
with due as (
    select id
    from outcall_leads
    where campaign_id = %(campaign_id)s
      and status in {{WAITING_LEAD_STATUSES}}
      and due_at <= %(now)s
    order by due_at, id
    limit %(limit)s
    for update skip locked
), claimed as (
    update outcall_leads l
    set status = {{LeadStatus.SCHEDULED}}, claimed_at = %(now)s, updated_at = %(now)s
    from due
    where l.id = due.id
    returning l.id
)
select t.id, t.cycle, t.round, t.contact_index, t.contact_count, t.phone_number, t.external_id,
       t.variables, t.last_outcome, t.to_number, t.invalid_reason
from outcall_dial_targets t
join claimed using (id)
order by t.id
