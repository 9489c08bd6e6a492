-- Claim up to `limit` due leads for the next dial, in due order. SKIP LOCKED lets any number
-- of workers claim side by side without waiting on, or taking, each other's leads.
-- Compliance gate: only leads whose callee clock is inside its hours now (`open_clocks`; null =
-- every clock), and with consent when the campaign requires it. Each open clock's due leads are
-- read in due order from outcall_leads_due_by_clock (a few rows each), then the first `limit`.
-- `suppressed`: the contact's number is on a do-not-call list; the dialer skips it.
with due as (
    select d.id
    from unnest(coalesce(%(open_clocks)s::int[], (select array_agg(id) from outcall_callee_clocks))) as k(id)
    cross join lateral (
        select id, due_at
        from outcall_leads
        where campaign_id = %(campaign_id)s and callee_clock_id = k.id
          and status in {{WAITING_LEAD_STATUSES}}
          and due_at <= %(now)s
          and (not %(require_consent)s or consent_at is not null)
        order by due_at, id
        limit %(limit)s
        for update skip locked
    ) d
    order by d.due_at, d.id
    limit %(limit)s
), claimed as (
    update outcall_leads l
    set status = {{LeadStatus.SCHEDULED}}, claimed_at = %(now)s, updated_at = %(now)s
    from due
    where l.id = due.id
    returning l.id
)
select t.id, t.cycle, t.round, t.contact_index, t.contact_count, t.phone_number, t.external_id,
       t.variables, t.last_outcome, t.to_number, t.invalid_reason, t.callee_clock_id, t.consent_at,
       exists (select 1 from outcall_dnc d where d.phone_number = t.to_number) as suppressed
from outcall_dial_targets t
join claimed using (id)
order by t.id
