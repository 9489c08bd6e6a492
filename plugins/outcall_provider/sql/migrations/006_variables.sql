-- Post-call variables that arrive after their attempt was judged: kept and shown beside the
-- variables it was judged on, never judged on themselves.
alter table outcall_attempts add column late_variables jsonb;
alter table outcall_attempts add column late_variables_at timestamptz;

-- An all-null report means "nothing received yet" (the engine waits for variables while the
-- row is missing): drop such rows kept before reports were merged.
delete from outcall_call_variables where jsonb_strip_nulls(variables) = '{}'::jsonb;
