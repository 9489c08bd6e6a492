-- The leads of one batch that are still claimed for dialing, as claim_due_leads returns them.
select l.id, l.cycle, l.round, l.contact_index, l.contact_count, l.phone_number, l.external_id,
       l.variables, l.last_outcome,
       coalesce((select c.phone_number from outcall_contacts c
                 where c.lead_id = l.id and c.position = l.contact_index), l.phone_number) as to_number,
       case when l.contact_index = 0 then l.phone_invalid_reason
            else (select c.invalid_reason from outcall_contacts c
                  where c.lead_id = l.id and c.position = l.contact_index) end as invalid_reason
from outcall_leads l
where l.id = any(%(lead_ids)s) and l.status = 'scheduled'
order by l.id
