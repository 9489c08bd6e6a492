-- Judged calls whose price Twilio had not filled in yet, due for another look: a few tries,
-- each `recheck` after the last, then the price is left empty.
select id, call_sid, started_at, price_checks
from outcall_attempts
where campaign_id = %(campaign_id)s and judged_at is not null and call_sid is not null
  and price is null and call_status = {{CallStatus.COMPLETED}} and price_checks < %(max_checks)s
  and coalesce(price_checked_at, judged_at) <= %(due_before)s
order by id
limit 1000
