-- Calls of the campaign Twilio may still be ringing or talking on.
select count(*)
from outcall_attempts
where campaign_id = %(campaign_id)s and judged_at is null
  and call_status not in ('completed', 'busy', 'no-answer', 'failed', 'canceled')
