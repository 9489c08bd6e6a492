-- An export's starting point: the snapshot it reads under (its transaction is REPEATABLE READ,
-- so every page sees this same snapshot) and the one the last export to this destination read under.
select pg_current_snapshot()::text as snapshot,
       (select e.snapshot::text from outcall_results_exports e
        where e.campaign_id = %(campaign_id)s and e.target = %(target)s) as last_snapshot
