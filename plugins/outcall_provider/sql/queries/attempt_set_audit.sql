-- What allowed the call, completed right before it is placed.
update outcall_attempts set audit = coalesce(audit, '{}'::jsonb) || %(audit)s where id = %(attempt_id)s
