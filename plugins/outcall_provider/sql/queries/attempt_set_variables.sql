-- Post-call variables for a call not judged yet (or whose attempt is not known yet), merged
-- into the reports before them. Only non-null values get here (null means "not reported"),
-- so a later report fills in or corrects values and never erases one; received_at moves
-- only when something changed.
insert into outcall_call_variables as v (call_sid, variables, received_at)
values (%(call_sid)s, %(variables)s, %(now)s)
on conflict (call_sid) do update
set variables = v.variables || excluded.variables, received_at = excluded.received_at
where not v.variables @> excluded.variables
returning call_sid
