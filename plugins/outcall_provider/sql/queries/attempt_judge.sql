-- The attempt keeps the variables it was judged on. With `check_variables`, only if they are
-- still the ones the decision saw (`variables_at`): a report that arrived in between means
-- the attempt is decided again on the next poll. (The caller holds the attempt's row lock,
-- which the results webhook takes too, so no report slips in during this statement.)
update outcall_attempts a
set outcome = %(outcome)s, outcome_reason = %(reason)s, outcome_note = %(note)s,
    goal_met = %(goal_met)s, judged_at = %(now)s,
    variables = v.variables, variables_at = v.received_at
from (select 1) one
left join outcall_call_variables v on v.call_sid = (select call_sid from outcall_attempts where id = %(attempt_id)s)
where a.id = %(attempt_id)s and a.judged_at is null
  and (not %(check_variables)s or v.received_at is not distinct from %(variables_at)s)
returning a.lead_id
