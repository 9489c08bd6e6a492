update outcall_attempts
set error = %(error)s, call_status = coalesce(%(call_status)s, call_status)
where id = %(attempt_id)s
