-- Transcripts and recordings kept by SID (outcall_call_transcripts) that their attempt did not
-- take: they came in the instant between a dialer saving the call SID and committing it, so
-- the webhook saw no attempt and migration 010's trigger saw no transcript. Adopted here.
update outcall_attempts a
set transcript = coalesce(a.transcript, t.transcript),
    recording_url = coalesce(a.recording_url, t.recording_url)
from outcall_call_transcripts t
where a.campaign_id = %(campaign_id)s and a.call_sid = t.call_sid
  and ((a.transcript is null and t.transcript is not null)
       or (a.recording_url is null and t.recording_url is not null))
