-- Claimed leads that were not dialed go back to being due, as they were.
update outcall_leads
set status = case when last_outcome is null then 'created' else 'rescheduled' end,
    claimed_at = null, updated_at = %(now)s
where id = any(%(lead_ids)s) and status = 'scheduled'
