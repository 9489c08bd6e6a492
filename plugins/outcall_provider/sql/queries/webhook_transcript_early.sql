-- A transcript or recording for a call no attempt knows yet: kept by SID until the attempt
-- learns it (migration 010's trigger moves it onto the attempt). A null erases nothing.
insert into outcall_call_transcripts as t (call_sid, transcript, recording_url, received_at)
values (%(call_sid)s, %(transcript)s, %(recording_url)s, %(now)s)
on conflict (call_sid) do update
set transcript = coalesce(excluded.transcript, t.transcript),
    recording_url = coalesce(excluded.recording_url, t.recording_url),
    received_at = excluded.received_at
