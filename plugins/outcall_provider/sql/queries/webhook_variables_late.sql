-- Variables that arrived after the attempt was judged: kept apart from the ones it was judged
-- on, merged like those, and noted on the attempt once.
update outcall_attempts
set late_variables = coalesce(late_variables, '{}'::jsonb) || %(variables)s,
    late_variables_at = %(now)s,
    outcome_note = case when position('variables arrived after judging' in coalesce(outcome_note, '')) > 0
                        then outcome_note
                        else concat_ws('; ', outcome_note, 'variables arrived after judging') end
where id = %(attempt_id)s
returning id
