-- The assistant's transcript of a call and the URL of its recording, as its results webhook
-- reports them. Shown with the call; never judged on.
alter table outcall_attempts add column transcript text;
alter table outcall_attempts add column recording_url text;

-- Results may come before the attempt knows its call SID (a dialer crashed before saving
-- it): the transcript and recording wait here, by SID, like early post-call variables do in
-- outcall_call_variables (which holds variables only: a row there means "variables came").
create table outcall_call_transcripts (
    call_sid      text primary key,
    transcript    text,
    recording_url text,
    received_at   timestamptz not null
);

-- ...and move onto the attempt when it learns its SID, whichever statement sets it, so that
-- every reader of outcall_attempts (the calls page, exports) finds them in one place.
create function outcall_attempt_take_transcript() returns trigger language plpgsql as $$
declare
    early outcall_call_transcripts;
begin
    select * into early from outcall_call_transcripts where call_sid = new.call_sid;
    if found then
        new.transcript := coalesce(new.transcript, early.transcript);
        new.recording_url := coalesce(new.recording_url, early.recording_url);
    end if;
    return new;
end $$;

create trigger outcall_attempt_take_transcript
before insert or update of call_sid on outcall_attempts
for each row when (new.call_sid is not null)
execute function outcall_attempt_take_transcript();
