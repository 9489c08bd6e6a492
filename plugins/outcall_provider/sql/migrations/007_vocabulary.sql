-- Two pieces of vocabulary the queries share, defined once (rules/states.py is their Python twin).

-- The status of a lead that is due again without having been judged (a claim released, an
-- attempt never placed): `created` if it was never called in this cycle, else `rescheduled`.
create function outcall_due_status(last_outcome text) returns text
language sql immutable parallel safe
return case when last_outcome is null then 'created' else 'rescheduled' end;

-- Whether a Twilio call status is final (rules/states.py TERMINAL_CALL_STATUSES).
create function outcall_call_ended(call_status text) returns boolean
language sql immutable parallel safe
return call_status in ('completed', 'busy', 'no-answer', 'failed', 'canceled');
