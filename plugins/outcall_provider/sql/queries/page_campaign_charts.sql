-- The detail page's charts: attempts by outcome, and answer rate by hour of day on the
-- assistant's clock. "Answered" means a person (or an undecided detector) picked up.
select
    (select coalesce(jsonb_object_agg(outcome, n), '{}') from (
        select coalesce(outcome_reason, call_status) as outcome, count(*) as n
        from outcall_attempts where campaign_id = %(campaign_id)s group by 1) a) as attempts_by_outcome,
    (select coalesce(jsonb_agg(h order by h.hour), '[]') from (
        select extract(hour from started_at at time zone %(timezone)s)::int as hour,
               count(*) as calls,
               count(*) filter (where call_status = {{CallStatus.COMPLETED}}
                                  and coalesce(answered_by, 'human') in ('human', 'unknown')) as answered
        from outcall_attempts where campaign_id = %(campaign_id)s group by 1) h) as answer_rate_by_hour
