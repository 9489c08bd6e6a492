-- Serialises judging an attempt with the results webhook storing its variables.
select id from outcall_attempts where id = %(attempt_id)s and judged_at is null for update
