-- One campaign's row on the Campaigns list: lead counts from the delta table, calls today
-- from an index range, cost from the priced (answered) calls, and its unjudged calls (the open
-- attempts' partial index) split into those Twilio still works on and those that ended and
-- await their result (post-call variables, the next reconcile).
select
    (select coalesce(jsonb_object_agg(status, n), '{}') from (
        select status, sum(n)::bigint as n from outcall_lead_counts
        where campaign_id = %(campaign_id)s group by status) s) as leads_by_status,
    (select coalesce(sum(n), 0)::bigint from outcall_lead_counts
     where campaign_id = %(campaign_id)s and goal_met) as goal_met,
    (select count(*) from outcall_attempts
     where campaign_id = %(campaign_id)s and started_at >= %(day_start)s) as calls_today,
    (select coalesce(sum(-price), 0) from outcall_attempts
     where campaign_id = %(campaign_id)s and price is not null) as cost,
    (select price_unit from outcall_attempts
     where campaign_id = %(campaign_id)s and price_unit is not null limit 1) as cost_unit,
    (select count(*) from outcall_attempts
     where campaign_id = %(campaign_id)s and judged_at is null
       and call_status not in {{TERMINAL_CALL_STATUSES}}) as calls_in_flight,
    (select count(*) from outcall_attempts
     where campaign_id = %(campaign_id)s and judged_at is null
       and call_status in {{TERMINAL_CALL_STATUSES}}) as calls_awaiting_result,
    (select count(*) from outcall_lead_counts where campaign_id = %(campaign_id)s) as count_rows
