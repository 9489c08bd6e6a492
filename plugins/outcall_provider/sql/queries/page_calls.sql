-- The calls table, newest first, keyset-paged by attempt id; optionally one lead's calls.
-- `variables`: what the assistant reported so far for a call not judged yet, the values it
-- was judged on once it is; `late_variables`: values that came after it was judged.
-- `audit`: what allowed the call (local times, rules checked, caller ID), null for older calls.
select a.id, a.lead_id, a.to_number, a.contact_index, a.round, a.cycle, a.started_at, a.ended_at,
       a.call_sid, a.call_status, a.answered_by, a.duration_s, a.price, a.price_unit,
       case when a.judged_at is null then v.variables else a.variables end as variables,
       case when a.judged_at is null then v.received_at else a.variables_at end as variables_at,
       a.late_variables, a.late_variables_at, a.judged_at,
       a.outcome, a.outcome_reason, a.outcome_note, a.transcript, a.recording_url, a.audit
from outcall_attempts a
left join outcall_call_variables v on v.call_sid = a.call_sid  -- the assistant's report, once it came
where a.campaign_id = %(campaign_id)s and a.id < %(before)s
  and (a.lead_id = %(lead_id)s or %(lead_id)s::bigint is null)
order by a.id desc
limit %(limit)s
