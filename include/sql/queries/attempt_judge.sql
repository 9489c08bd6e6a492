-- The attempt keeps the variables it was judged on.
update outcall_attempts a
set outcome = %(outcome)s, outcome_reason = %(reason)s, outcome_note = %(note)s,
    goal_met = %(goal_met)s, judged_at = %(now)s,
    variables = v.variables, variables_at = v.received_at
from (select 1) one
left join outcall_call_variables v on v.call_sid = (select call_sid from outcall_attempts where id = %(attempt_id)s)
where a.id = %(attempt_id)s and a.judged_at is null
returning a.lead_id
