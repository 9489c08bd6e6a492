-- The attempt of a call whose variables are being stored, locked until they are: the engine
-- judges it either before (the variables are late) or after (it sees them).
select id, judged_at from outcall_attempts where call_sid = %(call_sid)s for update
