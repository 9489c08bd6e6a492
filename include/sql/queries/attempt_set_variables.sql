-- Post-call variables from the assistant; a repeat of the same call is harmless.
update outcall_attempts
set variables = %(variables)s, variables_at = coalesce(variables_at, %(now)s)
where call_sid = %(call_sid)s
returning id
