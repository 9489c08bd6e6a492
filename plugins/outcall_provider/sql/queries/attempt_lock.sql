select id from outcall_attempts where id = %(attempt_id)s for update
