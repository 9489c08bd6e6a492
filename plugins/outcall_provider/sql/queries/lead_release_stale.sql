-- Claims a crashed dialer left behind (no attempt was written for them).
update outcall_leads
set status = outcall_due_status(last_outcome),
    claimed_at = null, updated_at = %(now)s
where campaign_id = %(campaign_id)s and status = {{LeadStatus.SCHEDULED}} and claimed_at < %(before)s
