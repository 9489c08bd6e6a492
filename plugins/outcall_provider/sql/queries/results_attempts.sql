-- A campaign's judged attempts for the results table, in id order; `snapshot`
-- and `since` as in results_leads.sql. An attempt changes after it is judged when Twilio's
-- price or late post-call variables come in: it is written again with them.
select a.id as attempt_id, a.call_sid, a.lead_id, l.external_id, a.to_number,
       a.started_at, a.ended_at, a.call_status, a.answered_by, a.duration_s, a.price, a.price_unit,
       a.outcome_reason as outcome, a.goal_met,
       coalesce(a.variables, '{}') || coalesce(a.late_variables, '{}') as variables,
       a.transcript, a.recording_url, a.judged_at, a.audit
from outcall_attempts a
join outcall_leads l on l.id = a.lead_id
where a.campaign_id = %(campaign_id)s and a.judged_at is not null
  and (%(snapshot)s::pg_snapshot is null
       or (a.change_xid >= pg_snapshot_xmin(%(snapshot)s::pg_snapshot)
           and not pg_visible_in_snapshot(a.change_xid, %(snapshot)s::pg_snapshot)))
  and (%(since)s::timestamptz is null or a.judged_at >= %(since)s)
order by a.id
