-- Claims a crashed dialer left behind (no attempt was written for them).
update outcall_leads
set status = case when last_outcome is null then 'created' else 'rescheduled' end,
    claimed_at = null, updated_at = %(now)s
where campaign_id = %(campaign_id)s and status = 'scheduled' and claimed_at < %(before)s
