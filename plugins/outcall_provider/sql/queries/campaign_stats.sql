select
    (select coalesce(jsonb_object_agg(status, n), '{}') from (
        select status, count(*) as n from outcall_leads where campaign_id = %(campaign_id)s group by status) s)
        as leads_by_status,
    (select coalesce(jsonb_object_agg(outcome, n), '{}') from (
        select coalesce(outcome_reason, call_status) as outcome, count(*) as n
        from outcall_attempts where campaign_id = %(campaign_id)s group by 1) a)
        as attempts_by_outcome,
    (select count(*) from outcall_leads where campaign_id = %(campaign_id)s) as leads,
    (select count(*) from outcall_leads where campaign_id = %(campaign_id)s and goal_met) as goal_met,
    (select coalesce(sum(-price), 0) from outcall_attempts where campaign_id = %(campaign_id)s) as cost
