-- Fold a campaign's count deltas into one row per status and goal. Each delta row is
-- deleted by exactly one compactor (a concurrent one skips rows already gone), so the sums
-- never change; only the number of rows to add up does.
with gone as (
    delete from outcall_lead_counts where campaign_id = %(campaign_id)s
    returning status, goal_met, n
)
insert into outcall_lead_counts (campaign_id, status, goal_met, n)
select %(campaign_id)s, status, goal_met, sum(n) from gone group by status, goal_met having sum(n) <> 0
