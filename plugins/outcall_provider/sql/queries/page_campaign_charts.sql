-- The detail page's charts, in one read of the campaign's attempts:
-- * attempts by outcome: judged calls only, by the reason the outcome rules gave;
-- * live calls: calls not judged yet, by Twilio's call status (dialing before Twilio answered);
-- * the funnel, per lead over all its calls (every cycle, so a reset keeps what happened):
--   called ⊇ reached a person (a judged call whose reason is in %(reached)s, from
--   rules/outcome.REACHED_A_PERSON_REASONS) ⊇ goal met (such a call with the goal variable true);
-- * answer rate by hour of day on the assistant's clock. "Answered" means a person (or an
--   undecided detector) picked up.
with a as (
    select lead_id, call_status, outcome_reason, judged_at is not null as judged,
           judged_at is not null and outcome_reason = any(%(reached)s::text[]) as reached,
           coalesce(goal_met, false) as goal_met, started_at, answered_by
    from outcall_attempts where campaign_id = %(campaign_id)s
)
select
    (select coalesce(jsonb_object_agg(outcome_reason, n), '{}') from (
        select outcome_reason, count(*) as n from a where judged group by 1) o) as attempts_by_outcome,
    (select coalesce(jsonb_object_agg(call_status, n), '{}') from (
        select call_status, count(*) as n from a where not judged group by 1) l) as live_calls,
    (select count(distinct lead_id) from a) as funnel_called,
    (select count(distinct lead_id) from a where reached) as funnel_reached,
    (select count(distinct lead_id) from a where reached and goal_met) as funnel_goal_met,
    (select coalesce(jsonb_agg(h order by h.hour), '[]') from (
        select extract(hour from started_at at time zone %(timezone)s)::int as hour,
               count(*) as calls,
               count(*) filter (where call_status = {{CallStatus.COMPLETED}}
                                  and coalesce(answered_by, 'human') in ('human', 'unknown')) as answered
        from a group by 1) h) as answer_rate_by_hour
