-- When the campaign's next lead may be called: each clock's earliest due lead, no earlier than
-- the moment that clock opens (`opens_at`, computed by the compliance gate). A known clock that
-- does not open soon is left out of `clock_ids`: its leads are skipped. Leads of a clock newer
-- than the gate's list (`max_clock_id`) or without one count as open, so the dialer looks again. One index step per clock on outcall_leads_due_by_clock.
select min(next_at) as next_due_at from (
    select greatest(d.due_at, k.opens_at) as next_at  -- greatest() skips nulls: a clock without leads is filtered
    from unnest(%(clock_ids)s::int[], %(opens_at)s::timestamptz[]) as k(id, opens_at)
    cross join lateral (
        select min(due_at) as due_at from outcall_leads
        where campaign_id = %(campaign_id)s and status in {{WAITING_LEAD_STATUSES}}
          and callee_clock_id = k.id and (not %(require_consent)s or consent_at is not null)
    ) d
    where d.due_at is not null
    union all
    select min(due_at) from outcall_leads
    where campaign_id = %(campaign_id)s and status in {{WAITING_LEAD_STATUSES}}
      and (callee_clock_id > %(max_clock_id)s or callee_clock_id is null)
      and (not %(require_consent)s or consent_at is not null)
) next
