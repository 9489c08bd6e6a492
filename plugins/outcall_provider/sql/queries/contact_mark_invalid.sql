-- Twilio refused this number for good: it is not dialed again. Returns whether the lead
-- has any dialable contact left.
with secondary as (
    update outcall_contacts set invalid_reason = %(reason)s
    where lead_id = %(lead_id)s and position = %(position)s
    returning position
), lead as (
    update outcall_leads
    set phone_invalid_reason = case when %(position)s = 0 then %(reason)s else phone_invalid_reason end
    where id = %(lead_id)s
    returning phone_invalid_reason, contact_count
)
select (lead.phone_invalid_reason is null and %(position)s <> 0)
       or exists (select 1 from outcall_contacts c
                  where c.lead_id = %(lead_id)s and c.invalid_reason is null
                    and c.position <> %(position)s)
       as has_dialable_contact
from lead
