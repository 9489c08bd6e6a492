-- A person's decision: `created` calls the lead again from its first round (a new cycle,
-- so earlier attempts stay on record); `completed` stops calling it.
update outcall_leads
set status = %(status)s,
    cycle = case when %(status)s = 'created' then cycle + 1 else cycle end,
    round = case when %(status)s = 'created' then 1 else round end,
    contact_index = case when %(status)s = 'created' then 0 else contact_index end,
    due_at = case when %(status)s = 'created' then %(now)s else due_at end,
    updated_at = %(now)s
where campaign_id = %(campaign_id)s
  and (id::text = %(lead)s or external_id = %(lead)s or phone_number = %(lead)s)
returning id, status
