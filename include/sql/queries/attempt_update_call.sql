-- What Twilio says about the call so far; called by polling and by status callbacks.
update outcall_attempts
set call_status = %(call_status)s,
    answered_by = coalesce(%(answered_by)s, answered_by),
    duration_s = coalesce(%(duration_s)s, duration_s),
    price = coalesce(%(price)s, price),
    price_unit = coalesce(%(price_unit)s, price_unit),
    ended_at = coalesce(%(ended_at)s, ended_at)
where id = %(attempt_id)s and judged_at is null
