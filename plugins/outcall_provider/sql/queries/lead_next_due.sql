-- The next due moment of a campaign's waiting leads: one step down outcall_leads_due_by_clock
-- per clock (and one for leads not given a clock yet).
select min(next_at) as next_due_at from (
    select (select min(due_at) from outcall_leads
            where campaign_id = %(campaign_id)s and callee_clock_id = k.id
              and status in {{WAITING_LEAD_STATUSES}}) as next_at
    from outcall_callee_clocks k
    union all
    select min(due_at) from outcall_leads
    where campaign_id = %(campaign_id)s and callee_clock_id is null and status in {{WAITING_LEAD_STATUSES}}
) next
