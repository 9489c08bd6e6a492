-- A Twilio status callback. Only a newer SequenceNumber applies, so repeats and late
-- arrivals change nothing; a final call status (set by polling or an earlier callback)
-- is never moved back, and known values are only filled in, never overwritten.
update outcall_attempts
set call_status = case when call_status in ('completed', 'busy', 'no-answer', 'failed', 'canceled')
                       then call_status else %(call_status)s end,
    answered_by = coalesce(answered_by, %(answered_by)s),
    duration_s = coalesce(duration_s, %(duration_s)s),
    ended_at = coalesce(ended_at, %(ended_at)s),
    callback_seq = %(sequence)s
where call_sid = %(call_sid)s and coalesce(callback_seq, -1) < %(sequence)s
returning id, call_status
