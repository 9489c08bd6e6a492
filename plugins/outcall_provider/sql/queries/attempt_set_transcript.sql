-- The assistant's transcript and recording of a call whose attempt is known, judged or not
-- (they are shown with the call, never judged on). A null never erases what came before.
update outcall_attempts
set transcript = coalesce(%(transcript)s, transcript),
    recording_url = coalesce(%(recording_url)s, recording_url)
where id = %(attempt_id)s
