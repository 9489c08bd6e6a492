-- Claim up to `limit` due leads for the next dial. SKIP LOCKED lets any number of
-- workers claim side by side without waiting on, or taking, each other's leads.
with due as (
    select id
    from outcall_leads
    where campaign_id = %(campaign_id)s
      and status in ('created', 'rescheduled')
      and due_at <= %(now)s
    order by due_at, id
    limit %(limit)s
    for update skip locked
)
update outcall_leads l
set status = 'scheduled', claimed_at = %(now)s, updated_at = %(now)s
from due
where l.id = due.id
returning l.id, l.cycle, l.round, l.contact_index, l.contact_count, l.phone_number, l.external_id,
          l.variables, l.last_outcome,
          coalesce((select c.phone_number from outcall_contacts c
                    where c.lead_id = l.id and c.position = l.contact_index), l.phone_number) as to_number,
          case when l.contact_index = 0 then l.phone_invalid_reason
               else (select c.invalid_reason from outcall_contacts c
                     where c.lead_id = l.id and c.position = l.contact_index) end as invalid_reason
