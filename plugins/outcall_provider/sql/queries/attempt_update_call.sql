-- What Twilio says about the call so far; called by polling. A final status is never moved
-- back (a poll that started before a callback may answer after it), and known values are
-- only filled in. `record_read` marks Twilio's final record as read.
update outcall_attempts
set call_status = case when outcall_call_ended(call_status)
                       then call_status else %(call_status)s end,
    answered_by = coalesce(%(answered_by)s, answered_by),
    duration_s = coalesce(%(duration_s)s, duration_s),
    price = coalesce(%(price)s, price),
    price_unit = coalesce(%(price_unit)s, price_unit),
    ended_at = coalesce(%(ended_at)s, ended_at),
    record_read_at = case when %(record_read)s then %(now)s else record_read_at end
where id = %(attempt_id)s
