-- A Twilio status callback. Only a newer SequenceNumber moves the call status, and a final
-- status (set by polling or an earlier callback) is never moved back. Any callback, even a
-- late or out-of-order one, may fill in what is still unknown (answered_by, duration, end),
-- but never clears or overwrites a known value. Returns nothing when it changed nothing.
-- A call that ended frees a line: the NOTIFY wakes the campaign's dialers (sent on commit).
with changed as (
update outcall_attempts
set call_status = case when outcall_call_ended(call_status)
                         or coalesce(callback_seq, -1) >= %(sequence)s
                       then call_status else %(call_status)s end,
    answered_by = coalesce(answered_by, %(answered_by)s),
    duration_s = coalesce(duration_s, %(duration_s)s),
    ended_at = coalesce(ended_at, %(ended_at)s),
    callback_seq = greatest(callback_seq, %(sequence)s)
where call_sid = %(call_sid)s
  and (coalesce(callback_seq, -1) < %(sequence)s
       or (answered_by is null and %(answered_by)s::text is not null)
       or (duration_s is null and %(duration_s)s::int is not null)
       or (ended_at is null and %(ended_at)s::timestamptz is not null))
returning id, call_status, campaign_id
)
select id, call_status,
       case when outcall_call_ended(call_status) then pg_notify(%(channel)s, campaign_id::text) end
from changed
