update outcall_attempts
set outcome = %(outcome)s, outcome_reason = %(reason)s, outcome_note = %(note)s,
    goal_met = %(goal_met)s, judged_at = %(now)s
where id = %(attempt_id)s and judged_at is null
returning lead_id
