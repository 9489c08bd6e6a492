-- A lead as the dialer needs it: the contact to dial next and whether Twilio refused it.
create view outcall_dial_targets as
select l.id, l.campaign_id, l.cycle, l.round, l.contact_index, l.contact_count, l.phone_number,
       l.external_id, l.variables, l.last_outcome, l.status,
       coalesce(c.phone_number, l.phone_number) as to_number,
       case when l.contact_index = 0 then l.phone_invalid_reason else c.invalid_reason end as invalid_reason
from outcall_leads l
left join outcall_contacts c on c.lead_id = l.id and c.position = l.contact_index and l.contact_index > 0;
