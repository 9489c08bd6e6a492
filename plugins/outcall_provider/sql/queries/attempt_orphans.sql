-- Attempts written without a call SID that no live dialer holds: a dialer holds its
-- attempt locked from writing it until the SID is saved, so a locked row is skipped.
-- (An attempt Twilio refused has call_status `failed` and is judged by its dialer.)
select id, lead_id, cycle, to_number, from_number, started_at
from outcall_attempts
where campaign_id = %(campaign_id)s and call_sid is null and judged_at is null
  and call_status <> {{CallStatus.FAILED}} and started_at <= %(before)s
order by id
for update skip locked
