-- Post-call variables from the assistant; the first report of a call counts, repeats are harmless.
insert into outcall_call_variables (call_sid, variables, received_at)
values (%(call_sid)s, %(variables)s, %(now)s)
on conflict (call_sid) do nothing
returning call_sid
