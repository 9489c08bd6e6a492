-- Claimed leads that were not dialed go back to being due, as they were.
update outcall_leads
set status = outcall_due_status(last_outcome),
    claimed_at = null, updated_at = %(now)s
where id = any(%(lead_ids)s) and status = {{LeadStatus.SCHEDULED}}
