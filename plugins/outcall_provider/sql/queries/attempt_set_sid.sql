update outcall_attempts set call_sid = %(call_sid)s, call_status = %(call_status)s
where id = %(attempt_id)s
