-- The lead after one judged attempt: done, or due again (next contact now, next round later).
update outcall_leads
set status = %(status)s,
    round = coalesce(%(next_round)s, round),
    contact_index = coalesce(%(next_contact_index)s, contact_index),
    due_at = coalesce(%(due_at)s, due_at),
    goal_met = coalesce(%(goal_met)s, goal_met),
    last_outcome = %(reason)s,
    claimed_at = null,
    updated_at = %(now)s
where id = %(lead_id)s and cycle = %(cycle)s
