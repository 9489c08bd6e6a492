-- Twilio has no call for this attempt: nothing was dialed, so the attempt is forgotten and
-- its lead is due again at once, as it was.
with gone as (
    delete from outcall_attempts
    where id = %(attempt_id)s and call_sid is null
    returning lead_id, cycle
)
update outcall_leads l
set status = outcall_due_status(l.last_outcome),
    due_at = %(now)s, claimed_at = null, updated_at = %(now)s
from gone
where l.id = gone.lead_id and l.cycle = gone.cycle and l.status = {{LeadStatus.PROCESSING}}
