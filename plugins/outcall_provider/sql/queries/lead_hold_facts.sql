-- Per lead, what decides whether it may be dialed at `at` (rules/compliance.hold_reasons).
-- Terminal leads are only counted: their DNC lists and calls are not looked up.
select l.id as lead_id, l.external_id, l.status, l.due_at <= %(at)s as due, l.due_at,
       (l.phone_invalid_reason is null
        or exists (select 1 from outcall_contacts c where c.lead_id = l.id and c.invalid_reason is null)) as has_dialable,
       l.callee_clock_id, l.consent_at is not null as consented,
       case when l.status in {{TERMINAL_LEAD_STATUSES}} then '{}'::text[] else coalesce(
           (select array_agg(d.list order by d.list) from outcall_dnc d where d.phone_number = t.to_number),
           '{}') end as dnc_lists,
       case when l.status in {{TERMINAL_LEAD_STATUSES}} then '{}'::timestamptz[] else coalesce(
           (select array_agg(a.started_at order by a.started_at) from outcall_attempts a
            where a.to_number = t.to_number and a.started_at > %(since)s and a.started_at <= %(at)s
              and not (a.call_sid is null and a.call_status = {{CallStatus.FAILED}})),
           '{}') end as recent_calls
from outcall_leads l
join outcall_dial_targets t on t.id = l.id
where l.campaign_id = %(campaign_id)s
