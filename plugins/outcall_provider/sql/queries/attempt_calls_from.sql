-- Calls placed (or being placed) from each caller ID since a moment: the pool's daily caps.
-- An attempt Twilio refused (no SID, failed) placed no call.
select from_number, count(*) as calls
from outcall_attempts
where from_number = any(%(numbers)s) and started_at >= %(since)s
  and not (call_sid is null and call_status = {{CallStatus.FAILED}})
group by from_number
