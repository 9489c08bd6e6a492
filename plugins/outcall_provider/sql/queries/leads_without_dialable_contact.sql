select count(*)
from outcall_leads l
where l.campaign_id = %(campaign_id)s and l.phone_invalid_reason is not null
  and not exists (select 1 from outcall_contacts c where c.lead_id = l.id and c.invalid_reason is null)
