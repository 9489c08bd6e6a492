-- The new watermark. Counts add up over the tries of one DAG run, so a retried task reports
-- what its failed try already wrote.
insert into outcall_results_exports (campaign_id, target, snapshot, run_id, leads, attempts, exported_at)
values (%(campaign_id)s, %(target)s, %(snapshot)s::pg_snapshot, %(run_id)s, %(leads)s, %(attempts)s, %(now)s)
on conflict (campaign_id, target) do update
set snapshot = excluded.snapshot,
    leads = case when outcall_results_exports.run_id = excluded.run_id
                 then outcall_results_exports.leads + excluded.leads else excluded.leads end,
    attempts = case when outcall_results_exports.run_id = excluded.run_id
                    then outcall_results_exports.attempts + excluded.attempts else excluded.attempts end,
    run_id = excluded.run_id,
    exported_at = excluded.exported_at
returning leads, attempts
