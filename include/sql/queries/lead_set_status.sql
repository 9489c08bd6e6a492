-- A person's decision on one lead: `created` calls it again from its first round, attempts
-- reset; `completed` stops calling it. Either way a new cycle begins, so the result of a call
-- still in flight is recorded on its attempt but no longer moves the lead.
update outcall_leads
set status = %(status)s,
    cycle = cycle + 1,
    round = case when %(status)s = 'created' then 1 else round end,
    contact_index = case when %(status)s = 'created' then 0 else contact_index end,
    due_at = case when %(status)s = 'created' then %(now)s else due_at end,
    claimed_at = null,
    updated_at = %(now)s
where campaign_id = %(campaign_id)s and id = %(lead_id)s
returning id, status
