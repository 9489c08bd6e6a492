-- A claimed lead that may not be called yet (a frequency or caller-ID cap): due again later.
update outcall_leads
set status = outcall_due_status(last_outcome),
    due_at = %(due_at)s, claimed_at = null, updated_at = %(now)s
where id = %(lead_id)s and cycle = %(cycle)s and status = {{LeadStatus.SCHEDULED}}
