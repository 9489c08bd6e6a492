-- Calls of the campaign Twilio may still be ringing or talking on.
select count(*)
from outcall_attempts
where campaign_id = %(campaign_id)s and judged_at is null
  and not outcall_call_ended(call_status)
